"""The embedded demo's stand-in for the provider's control panel: off by default, on in scripts/run,
and through it a newcomer creates a server and completes verification, as the platform would."""

import pytest

from accounts.models import Account
from accounts.services import register_customer
from tests.conftest import OTHER_IPS, PASSWORD

PANEL = "/accounts/demo-control-panel/"


@pytest.fixture
def newcomer(db, customer_networks_allowed, client):
    user = register_customer("new@demo.test", PASSWORD, "Newcomer Ltd")
    client.force_login(user)
    return user


def test_off_unless_the_demo_turns_it_on(newcomer, client):
    assert client.get(PANEL).status_code == 404
    assert client.post(PANEL, {"action": "identity"}).status_code == 404
    assert not Account.objects.get(pk=newcomer.membership.account.pk).identity_verified


def test_a_newcomer_creates_a_server_and_the_portal_lists_it(newcomer, client, settings):
    settings.PORTAL_DEMO_CONTROL_PANEL = True
    settings.PORTAL_SERVERS_URL = f"http://testserver{PANEL}"
    home = client.get("/").content.decode()
    assert f'href="http://testserver{PANEL}"' in home
    page = client.get(PANEL).content.decode()
    assert "stands in for your cloud provider's control panel" in page
    answer = client.post(PANEL, {"action": "server", "hostname": "mail.newcomer.example.com", "address": "192.0.2.44"})
    assert answer.status_code == 302
    home = client.get("/").content.decode()
    assert "mail.newcomer.example.com" in home and "192.0.2.44" in home


@pytest.mark.parametrize(
    ("hostname", "address", "error"),
    [
        ("mail.newcomer.example.com", "10.1.2.3", "Not a public Internet address"),
        ("mail.internal", "192.0.2.45", "internal name"),
        ("mail.newcomer.example.com", OTHER_IPS[0], "Another account"),
    ],
)
def test_what_the_platform_would_refuse_is_refused_with_a_reason(
    newcomer, client, settings, other_customer, hostname, address, error
):
    settings.PORTAL_DEMO_CONTROL_PANEL = True
    answer = client.post(PANEL, {"action": "server", "hostname": hostname, "address": address})
    assert answer.status_code == 200 and error in answer.content.decode()
    assert not newcomer.membership.account.servers.exists()


def test_verification_is_recorded_as_the_platform_records_it(newcomer, client, settings):
    settings.PORTAL_DEMO_CONTROL_PANEL = True
    client.post(PANEL, {"action": "identity"})
    client.post(PANEL, {"action": "payment"})
    account = Account.objects.get(pk=newcomer.membership.account.pk)
    assert account.identity_verified and account.payment_verified
    assert account.identity_verified_by is None  # by the provider's integration, not a person
    assert account.missing_verifications() == []
