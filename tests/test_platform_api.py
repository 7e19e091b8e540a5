"""The platform's server API: bearer-token authentication, inventory writes, history kept."""

import hashlib
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import CustomerToken, PlatformToken, Server, ServerAddress


def server_url(external_id: str) -> str:
    return f"/api/v1/platform/servers/{external_id}/"


@pytest.fixture
def platform_token(db) -> tuple[PlatformToken, str]:
    return PlatformToken.issue(name="cloud platform")


@pytest.fixture
def platform(platform_token) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {platform_token[1]}")
    return api


def payload(account, hostname: str = "vm-new.example.com", addresses: list[str] | None = None) -> dict:
    return {
        "account": str(account.reference),
        "hostname": hostname,
        "addresses": ["203.0.113.10", "2001:db8::10"] if addresses is None else addresses,
    }


def active_ips(server: Server) -> set[str]:
    return set(server.addresses.active().values_list("ip", flat=True))


# --- create, update, delete -----------------------------------------------------------------


def test_put_creates_a_server(platform, account):
    response = platform.put(server_url("vm-new"), payload(account), format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {
        "account": str(account.reference),
        "hostname": "vm-new.example.com",
        "addresses": ["2001:db8::10", "203.0.113.10"],
    }
    server = Server.objects.get(external_id="vm-new")
    assert server.account == account
    assert active_ips(server) == {"203.0.113.10", "2001:db8::10"}


def test_put_normalises_hostname_and_addresses(platform, account):
    data = payload(account, hostname="VM-New.Example.COM.", addresses=["2001:0db8:0:0::10", "203.0.113.10"])

    response = platform.put(server_url("vm-new"), data, format="json")

    assert response.status_code == 201
    server = Server.objects.get(external_id="vm-new")
    assert server.hostname == "vm-new.example.com"
    assert active_ips(server) == {"203.0.113.10", "2001:db8::10"}


def test_put_again_updates_the_server(platform, account):
    platform.put(server_url("vm-new"), payload(account), format="json")

    response = platform.put(
        server_url("vm-new"),
        payload(account, hostname="renamed.example.com", addresses=["203.0.113.10", "203.0.113.11"]),
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["addresses"] == ["203.0.113.10", "203.0.113.11"]
    server = Server.objects.get(external_id="vm-new")
    assert server.hostname == "renamed.example.com"
    assert active_ips(server) == {"203.0.113.10", "203.0.113.11"}


def test_update_releases_dropped_addresses_and_keeps_their_history(platform, account):
    platform.put(server_url("vm-new"), payload(account), format="json")
    before = timezone.now()

    platform.put(server_url("vm-new"), payload(account, addresses=["203.0.113.10"]), format="json")

    dropped = ServerAddress.objects.get(ip="2001:db8::10")
    assert dropped.released_at is not None
    assert dropped.released_at >= before
    kept = ServerAddress.objects.get(ip="203.0.113.10")
    assert kept.released_at is None
    assert ServerAddress.objects.filter(server__external_id="vm-new").count() == 2


def test_address_given_back_later_gets_a_new_row(platform, account):
    platform.put(server_url("vm-new"), payload(account, addresses=["203.0.113.10"]), format="json")
    platform.put(server_url("vm-new"), payload(account, addresses=[]), format="json")
    platform.put(server_url("vm-new"), payload(account, addresses=["203.0.113.10"]), format="json")

    rows = ServerAddress.objects.filter(ip="203.0.113.10").order_by("assigned_at", "pk")
    assert [row.released_at is None for row in rows] == [False, True]


def test_address_moving_to_another_account_is_released_from_the_first(platform, account, other_customer):
    # The `customer` fixture's server vm-acme-1 holds 198.51.100.7.
    other_account = other_customer.membership.account

    response = platform.put(
        server_url("vm-globex-2"), payload(other_account, addresses=["198.51.100.7"]), format="json"
    )

    assert response.status_code == 201, response.content
    old = Server.objects.get(external_id="vm-acme-1")
    assert "198.51.100.7" not in active_ips(old)
    assert active_ips(old) == {"2001:db8::7"}
    assert old.addresses.get(ip="198.51.100.7").released_at is not None
    assert active_ips(Server.objects.get(external_id="vm-globex-2")) == {"198.51.100.7"}
    assert ServerAddress.objects.active().filter(ip="198.51.100.7").count() == 1


def test_get_returns_the_server(platform, account):
    platform.put(server_url("vm-new"), payload(account), format="json")

    response = platform.get(server_url("vm-new"))

    assert response.status_code == 200
    assert response.json()["hostname"] == "vm-new.example.com"
    assert response.json()["addresses"] == ["2001:db8::10", "203.0.113.10"]


def test_delete_releases_addresses_and_hides_the_server(platform, account):
    platform.put(server_url("vm-new"), payload(account), format="json")

    response = platform.delete(server_url("vm-new"))

    assert response.status_code == 204
    server = Server.objects.get(external_id="vm-new")
    assert server.deleted_at is not None
    assert not server.addresses.active().exists()
    assert server.addresses.count() == 2, "released addresses are kept as history"
    assert platform.get(server_url("vm-new")).status_code == 404


def test_delete_unknown_server_is_404(platform, account):
    assert platform.delete(server_url("no-such-vm")).status_code == 404


def test_get_unknown_server_is_404(platform, account):
    assert platform.get(server_url("no-such-vm")).status_code == 404


def test_put_after_delete_brings_the_server_back(platform, account):
    platform.put(server_url("vm-new"), payload(account), format="json")
    platform.delete(server_url("vm-new"))

    response = platform.put(server_url("vm-new"), payload(account), format="json")

    assert response.status_code == 200
    assert Server.objects.get(external_id="vm-new").deleted_at is None
    assert platform.get(server_url("vm-new")).status_code == 200


# --- authentication -------------------------------------------------------------------------


def test_call_without_token_is_401(account):
    response = APIClient().put(server_url("vm-new"), payload(account), format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert not Server.objects.filter(external_id="vm-new").exists()


@pytest.mark.parametrize("header", ["Bearer not-the-token", "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz"])
def test_call_with_wrong_token_is_401(platform_token, account, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)

    response = api.put(server_url("vm-new"), payload(account), format="json")

    assert response.status_code == 401
    assert not Server.objects.filter(external_id="vm-new").exists()


def test_revoked_token_is_401(platform, platform_token, account):
    token, _raw = platform_token
    token.revoked_at = timezone.now()
    token.save()

    response = platform.put(server_url("vm-new"), payload(account), format="json")

    assert response.status_code == 401
    assert not Server.objects.filter(external_id="vm-new").exists()


def test_token_use_is_recorded(platform, platform_token, account):
    token, _raw = platform_token
    assert token.last_used_at is None

    platform.get(server_url("vm-acme-1"))

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_customer_drf_token_is_not_accepted(customer, account):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {CustomerToken.issue(user=customer, name='t')[1]}")

    assert api.get(server_url("vm-acme-1")).status_code == 401
    assert api.put(server_url("vm-new"), payload(account), format="json").status_code == 401
    assert api.delete(server_url("vm-acme-1")).status_code == 401
    assert Server.objects.get(external_id="vm-acme-1").deleted_at is None


def test_customer_drf_token_as_bearer_is_not_accepted(customer, account):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {CustomerToken.issue(user=customer, name='t')[1]}")

    assert api.put(server_url("vm-new"), payload(account), format="json").status_code == 401


def test_customer_session_is_not_accepted(customer_client, account):
    assert customer_client.get(server_url("vm-acme-1")).status_code == 401
    response = customer_client.put(server_url("vm-new"), payload(account), content_type="application/json")
    assert response.status_code == 401
    assert customer_client.delete(server_url("vm-acme-1")).status_code == 401
    assert not Server.objects.filter(external_id="vm-new").exists()
    assert Server.objects.get(external_id="vm-acme-1").deleted_at is None


def test_staff_session_is_not_accepted(client, django_user_model, account):
    staff = django_user_model.objects.create_superuser(email="root@provider.test", password="x" * 12)
    client.force_login(staff)

    assert client.delete(server_url("vm-acme-1")).status_code == 401
    assert Server.objects.get(external_id="vm-acme-1").deleted_at is None


def test_token_is_stored_only_as_its_digest(platform_token):
    token, raw = platform_token

    row = PlatformToken.objects.filter(pk=token.pk).values().get()

    assert row["digest"] == hashlib.sha256(raw.encode()).hexdigest()
    assert all(raw not in str(value) for value in row.values())


def test_issued_tokens_differ(db):
    _first, raw_first = PlatformToken.issue(name="one")
    _second, raw_second = PlatformToken.issue(name="two")

    assert raw_first != raw_second
    assert len(raw_first) >= 32


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"addresses": ["not-an-ip"]}, "addresses"),
        ({"addresses": ["203.0.113.300"]}, "addresses"),
        ({"addresses": "203.0.113.10"}, "addresses"),
        ({"hostname": "exa mple.com"}, "hostname"),
        ({"hostname": "localhost"}, "hostname"),
        ({"hostname": ""}, "hostname"),
        ({"account": str(uuid.uuid4())}, "account"),
        ({"account": "not-a-uuid"}, "account"),
    ],
)
def test_bad_input_is_400_with_field_errors(platform, account, change, field):
    response = platform.put(server_url("vm-new"), {**payload(account), **change}, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Server.objects.filter(external_id="vm-new").exists()


@pytest.mark.parametrize("field", ["account", "hostname", "addresses"])
def test_missing_field_is_400(platform, account, field):
    data = payload(account)
    del data[field]

    response = platform.put(server_url("vm-new"), data, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_server_of_another_account_conflicts(platform, account, other_customer):
    # vm-globex-1 belongs to the other customer's account.
    response = platform.put(server_url("vm-globex-1"), payload(account), format="json")

    assert response.status_code == 409
    assert "account" in response.json()
    server = Server.objects.get(external_id="vm-globex-1")
    assert server.account == other_customer.membership.account
    assert active_ips(server) == {"198.51.100.8"}
    assert not ServerAddress.objects.filter(ip="203.0.113.10").exists()
