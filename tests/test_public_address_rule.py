"""One rule for a public address: what the checks refuse, the platform API does not register and the
request form and API never offer or accept. The tests' documentation-range customers pass only because
the tests allow those ranges (tests/conftest.py, customer_networks_allowed)."""

import pytest
from django.urls import reverse

from accounts.public_ip import is_public_ip
from accounts.services import record_server
from requests_app.models import UnblockRequest
from tests.conftest import answers
from tests.test_platform_api import payload, server_url
from tests.test_platform_api import platform as platform  # fixture
from tests.test_platform_api import platform_token as platform_token  # fixture
from verification.public_address import NonPublicAddress, public_addresses

NOT_PUBLIC = ["203.0.113.10", "2001:db8::10", "192.0.2.1", "10.0.0.5", "64:ff9b:1::a00:1", "::ffff:10.0.0.5"]


@pytest.mark.parametrize("address", [*NOT_PUBLIC, "93.184.215.14", "2606:4700:4700::1111"])
def test_the_checks_and_the_platform_api_agree_on_every_address(platform, account, settings, address):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = []
    try:
        public_addresses(address)
        checks_accept = True
    except NonPublicAddress:
        checks_accept = False

    response = platform.put(server_url("vm-new"), payload(account, addresses=[address]), format="json")

    assert checks_accept == is_public_ip(address) == (response.status_code == 201), response.json()


def test_the_platform_api_says_why_a_documentation_address_is_refused(platform, account, settings):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = []

    response = platform.put(server_url("vm-new"), payload(account), format="json")

    assert response.status_code == 400
    message = response.json()["addresses"][0]
    assert "Not public Internet addresses" in message and "which the checks refuse" in message
    assert "2001:db8::10, 203.0.113.10" in message


def test_an_allowed_network_is_public_for_the_checks_and_the_platform_api_alike(platform, account, settings):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = ["203.0.113.0/24"]

    assert public_addresses("203.0.113.10")
    assert (
        platform.put(server_url("vm-1"), payload(account, addresses=["203.0.113.10"]), format="json").status_code == 201
    )
    assert (
        platform.put(server_url("vm-2"), payload(account, addresses=["2001:db8::10"]), format="json").status_code == 400
    )


@pytest.fixture
def account_with_a_private_address(account, settings):
    """An address registered before the rule (or by a service that skips the API), then not allowed."""
    record_server(account, "vm-old", "vm-old.example.com", ["10.9.8.7"])
    return account


def test_the_form_does_not_offer_an_address_the_checks_refuse_and_says_so(
    customer_client, account_with_a_private_address
):
    page = customer_client.get(reverse("request_new")).content.decode()

    assert '<option value="198.51.100.7">' in page and 'value="10.9.8.7"' not in page
    assert "Not offered: 10.9.8.7" in page and "not public Internet addresses" in page


def test_the_form_refuses_a_posted_address_the_checks_refuse(customer_client, account_with_a_private_address):
    response = customer_client.post(reverse("request_new"), answers(mail_server_ip="10.9.8.7"))

    errors = response.context["form"].errors["mail_server_ip"]
    assert errors == [
        "10.9.8.7 is not a public Internet address, so the checks cannot test it and port 25 would"
        " not help it. Use the public IP of the server that sends."
    ]
    assert not UnblockRequest.objects.exists()


def test_the_request_api_refuses_an_address_the_checks_refuse(api_client, account_with_a_private_address):
    response = api_client.post(reverse("api-request-list"), answers(mail_server_ip="10.9.8.7"), format="json")

    assert response.status_code == 400
    assert (
        "10.9.8.7 is not a public Internet address, so the checks cannot test it"
        in response.json()["mail_server_ip"][0]
    )
    assert not UnblockRequest.objects.exists()


def test_an_account_whose_addresses_are_all_refused_is_told_why_not_given_a_form(customer_client, account, settings):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = []

    page = customer_client.get(reverse("request_new")).content.decode()

    assert 'data-testid="no-servers"' in page and 'id="request-form"' not in page
    assert "no public Internet address the checks can test: 198.51.100.7, 2001:db8::7" in page
