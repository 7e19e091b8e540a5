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


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin@provider.test", PASSWORD)


def _lock_out(client, url: str, email: str, **extra) -> None:
    for _ in range(5):
        client.post(url, {"username": email, "password": "wrong"}, **extra)


# Finding 1 of the security probe: the lock-out counted failures per address as typed, and log-in
# matches it case-insensitively, so `ADMIN@…` had five fresh tries after `admin@…` was locked.
@pytest.mark.parametrize("url_name", ["login", "admin:login"])
@pytest.mark.parametrize("variant", [str.upper, str.title, lambda e: f"  {e.swapcase()} "])
def test_the_lock_out_holds_for_every_spelling_of_the_address(client, superuser, settings, url_name, variant):
    settings.AXES_FAILURE_LIMIT = 5
    url = reverse(url_name)
    _lock_out(client, url, superuser.email)
    response = client.post(url, {"username": variant(superuser.email), "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_failures_in_mixed_spellings_add_up(client, superuser, settings, url_name):
    settings.AXES_FAILURE_LIMIT = 5
    url = reverse(url_name)
    for spelling in ["admin@provider.test", "ADMIN@provider.test", "Admin@Provider.Test", "aDmIn@provider.TEST"]:
        client.post(url, {"username": spelling, "password": "wrong"})
    client.post(url, {"username": "admin@PROVIDER.test", "password": "wrong"})
    assert client.post(url, {"username": superuser.email, "password": PASSWORD}).status_code == 429


PROXY = "10.0.0.2"


def _via_proxy(client_address: str, forged: str = "") -> dict:
    """What gunicorn sees behind the proxy: the proxy's address, the client's appended to the header."""
    chain = f"{forged}, {client_address}" if forged else client_address
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": chain}


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_behind_the_proxy_one_client_cannot_lock_out_the_others(client, superuser, settings, url_name):
    settings.AXES_FAILURE_LIMIT = 5
    settings.BEHIND_PROXY = True
    url = reverse(url_name)
    _lock_out(client, url, superuser.email, **_via_proxy("203.0.113.66"))
    locked = client.post(url, {"username": superuser.email, "password": PASSWORD}, **_via_proxy("203.0.113.66"))
    assert locked.status_code == 429
    # Forging an address in front of the proxy's entry does not get the attacker a fresh count.
    forged = _via_proxy("203.0.113.66", forged="192.0.2.1")
    assert client.post(url, {"username": superuser.email, "password": PASSWORD}, **forged).status_code == 429
    # The owner, at another address behind the same proxy, still gets in.
    response = client.post(url, {"username": superuser.email, "password": PASSWORD}, **_via_proxy("198.51.100.9"))
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(superuser.pk)


def test_without_the_proxy_setting_the_forwarded_header_is_ignored(client, customer, settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.BEHIND_PROXY = False
    url = reverse("login")
    _lock_out(client, url, customer.email, HTTP_X_FORWARDED_FOR="203.0.113.66")
    response = client.post(url, {"username": customer.email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.9")
    assert response.status_code == 429
