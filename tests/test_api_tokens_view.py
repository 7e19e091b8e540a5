"""Customers make and revoke their own API tokens; only digests are stored."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import CustomerToken

URL = reverse("api_tokens")


def create_token(client, name="deploy script") -> str:
    body = client.post(URL, {"name": name}).content.decode()
    return re.search(r'data-testid="new-token">([^<]+)<', body).group(1)


def api_status(raw: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return api.get(reverse("api-port25")).status_code


def test_new_token_is_shown_once_and_works(customer_client, customer):
    raw = create_token(customer_client)
    token = CustomerToken.objects.get(user=customer)
    assert raw not in token.digest and token.digest == CustomerToken.digest_of(raw)
    assert raw not in customer_client.get(URL).content.decode()
    assert api_status(raw) == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_is_refused(customer_client, customer):
    raw = create_token(customer_client)
    token = CustomerToken.objects.get(user=customer)
    response = customer_client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert api_status(raw) == 401


def test_unknown_token_answers_401_with_the_scheme(db):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token nope")
    response = api.get(reverse("api-port25"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_another_users_token_cannot_be_revoked(client, customer, other_customer):
    token, raw = CustomerToken.issue(user=customer, name="mine")
    client.force_login(other_customer)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    assert api_status(raw) == 200


def test_name_is_required(customer_client, customer):
    response = customer_client.post(URL, {"name": ""})
    assert "This field is required." in response.content.decode()
    assert not CustomerToken.objects.exists()


def test_last_use_is_recorded_to_the_minute_without_a_write_per_call(customer):
    _token, raw = CustomerToken.issue(user=customer, name="busy")
    assert api_status(raw) == 200
    with CaptureQueriesContext(connection) as queries:
        assert api_status(raw) == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def test_a_deactivated_users_token_is_refused(customer):
    _token, raw = CustomerToken.issue(user=customer, name="old laptop")
    customer.is_active = False
    customer.save(update_fields=["is_active"])

    assert api_status(raw) == 401


def test_the_token_and_its_user_are_read_in_one_query(customer):
    _token, raw = CustomerToken.issue(user=customer, name="busy")
    api_status(raw)  # the first call records the last use
    with CaptureQueriesContext(connection) as queries:
        assert api_status(raw) == 200
    token_reads = [q["sql"] for q in queries.captured_queries if "accounts_customertoken" in q["sql"]]
    assert len(token_reads) == 1 and "JOIN" in token_reads[0]
    assert not [q for q in queries.captured_queries if 'FROM "accounts_user"' in q["sql"]], "the user came along"
