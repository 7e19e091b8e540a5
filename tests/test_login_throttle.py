"""Repeated wrong passwords lock the address out for a while, on the portal and the admin."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_five_failures_lock_out_even_the_right_password(client, customer, settings, url_name):
    settings.AXES_FAILURE_LIMIT = 5
    url = reverse(url_name)
    for _ in range(5):
        client.post(url, {"username": customer.email, "password": "wrong"})
    response = client.post(url, {"username": customer.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_fewer_failures_still_let_the_right_password_in(client, customer, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        client.post(reverse("login"), {"username": customer.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": customer.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(customer.pk)
