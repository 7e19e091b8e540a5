"""Finding 8 of the security probe, the smaller ones: a platform ID over 100 characters answered 500 on
PostgreSQL; the platform API took loopback, private and link-local addresses despite its "public" help
text; staff without the authority could open the revocation pages (the submit was refused, the page was
not). The docker-compose password is in tests/test_compose_file.py."""

import pytest
from django.test import Client

from abuse.models import Revocation
from accounts.models import Server
from tests.review_fixtures import staff_in
from tests.test_abuse_reinstatement import revocation_number
from tests.test_platform_api import platform as platform  # fixture
from tests.test_platform_api import platform_token as platform_token  # fixture


def _server(account, addresses: list[str]) -> dict:
    return {"account": str(account.reference), "hostname": "vm.example.com", "addresses": addresses}


@pytest.mark.parametrize("method", ["put", "get", "delete"])
def test_a_platform_id_over_100_characters_is_a_400(platform, account, method):
    body = _server(account, ["203.0.113.10"]) if method == "put" else None

    response = getattr(platform, method)(f"/api/v1/platform/servers/{'x' * 101}/", body, format="json")

    assert response.status_code == 400
    assert "at most 100 characters" in response.json()["external_id"][0]
    assert not Server.objects.filter(external_id__startswith="xxx").exists()


def test_a_platform_id_of_100_characters_is_fine(platform, account):
    response = platform.put(f"/api/v1/platform/servers/{'x' * 100}/", _server(account, ["203.0.113.10"]), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "address",
    [
        *("10.0.0.5", "127.0.0.1", "169.254.169.254", "::1", "192.168.1.1", "172.16.0.1", "100.64.0.1"),
        *("fd00::1", "fe80::1", "0.0.0.0", "::ffff:10.0.0.5", "224.0.0.1", "240.0.0.1"),
    ],
)
def test_the_platform_api_refuses_addresses_that_are_not_public(platform, account, address):
    body = _server(account, ["203.0.113.10", address])
    response = platform.put("/api/v1/platform/servers/vm-9/", body, format="json")

    assert response.status_code == 400
    assert "Not public Internet addresses" in response.json()["addresses"][0]
    assert not Server.objects.filter(external_id="vm-9").exists()


@pytest.fixture
def second_revocation(account, django_user_model) -> Revocation:
    superuser = django_user_model.objects.create_superuser("root@provider.test", "pw-not-used")
    return revocation_number(account, 2, superuser)


@pytest.mark.parametrize("page", ["reinstate", "new-request"])
def test_staff_without_the_authority_cannot_open_the_revocation_pages(second_revocation, abuse_desk, reviewer, page):
    url = f"/admin/abuse/revocation/{second_revocation.pk}/{page}/"
    desk, support = Client(), Client()
    desk.force_login(abuse_desk)  # the second revocation needs a support reviewer
    support.force_login(reviewer)

    assert desk.get(url).status_code == 403
    assert desk.post(url, {"note": "fixed"}).status_code == 403
    assert support.get(url).status_code == 200


def test_staff_without_any_role_cannot_open_them(second_revocation, django_user_model):
    nobody = Client()
    nobody.force_login(staff_in(django_user_model, "pat@provider.test", None))
    assert nobody.get(f"/admin/abuse/revocation/{second_revocation.pk}/reinstate/").status_code == 403
