"""The web form for filing a request: each rule answered with a message next to its field."""

import pytest
from django.urls import reverse

from requests_app.models import UnblockRequest
from tests.conftest import answers, marketing_answers

URL = reverse("request_new")


def post(client, data):
    return client.post(URL, {k: v for k, v in data.items() if v is not False})


def assert_refused(response, field, fragment):
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert fragment in errors, response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not UnblockRequest.objects.exists()


def test_form_lists_the_accounts_own_addresses(customer_client):
    response = customer_client.get(URL)
    assert response.status_code == 200
    assert b"198.51.100.7" in response.content
    assert b'id="use-case-rules"' in response.content


def test_valid_personal_request_is_filed_and_shown(customer_client, account):
    response = post(customer_client, answers())
    request = UnblockRequest.objects.get(account=account)
    assert response.status_code == 302
    assert response.url == reverse("request_detail", args=[request.pk])
    assert request.use_case == "personal"


def test_marketing_request_with_everything_is_filed(customer_client, account):
    post(customer_client, marketing_answers())
    request = UnblockRequest.objects.get(account=account)
    assert request.unsubscribe_url == "https://example.com/unsubscribe"
    assert "Unsubscribe" in request.email_template


def test_small_personal_server_is_not_asked_for_a_template(customer_client, account):
    post(customer_client, answers(email_template="<p>hi</p>", unsubscribe_url="https://example.com/u"))
    request = UnblockRequest.objects.get(account=account)
    assert (request.email_template, request.unsubscribe_url) == ("", "")


@pytest.mark.parametrize("field", ["company_website", "unsubscribe_url"])
def test_a_name_that_does_not_resolve_is_filed_for_the_checks_to_report(customer_client, account, field):
    post(customer_client, marketing_answers(**{field: "https://does-not-exist.example.com/u"}))
    assert getattr(UnblockRequest.objects.get(account=account), field) == "https://does-not-exist.example.com/u"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("company_website", "ftp://example.com", "https://"),
        ("company_website", "javascript:alert(1)", "https://"),
        ("company_website", "https://localhost/", "internal name"),
        ("company_website", "http://10.0.0.1/", "not a public"),
        ("company_website", "http://0x7f000001/", "full web address"),
        ("company_website", "http://[::ffff:127.0.0.1]/", "not a public"),
        ("company_website", "https://private.example.com", "10.1.2.3"),
        ("company_website", "https://user:pw@example.com", "user name and password"),
        ("sending_domain", "exa mple.com", "spaces or invisible characters"),
        ("sending_domain", "mailserver", "fully qualified"),
        ("mail_server_hostname", "mail.corp", "internal name"),
        ("daily_volume", "0", "at least 1"),
        ("daily_volume", "-5", "at least 1"),
        ("daily_volume", "1000000000", "contact sales"),
        ("daily_volume", "lots", "whole number"),
        ("mail_server_ip", "198.51.100.8", "not an address of one of your servers"),
        ("mail_server_ip", "not-an-ip", "IPv4 or IPv6"),
        ("use_case", "spam", "Select a valid choice"),
        ("accept_aup", False, "acceptable-use policy"),
        ("threat_mitigation", "", "required"),
    ],
)
def test_bad_answer_is_refused_next_to_its_field(customer_client, other_customer, field, value, fragment):
    assert_refused(post(customer_client, answers(**{field: value})), field, fragment)


@pytest.mark.parametrize("missing", ["email_template", "unsubscribe_url", "optin_description"])
def test_marketing_must_give_template_unsubscribe_link_and_opt_in(customer_client, missing):
    assert_refused(post(customer_client, marketing_answers(**{missing: ""})), missing, "")


def test_transactional_must_give_a_template(customer_client):
    response = post(customer_client, answers(use_case="transactional"))
    assert_refused(response, "email_template", "example of the email")


def test_personal_server_above_the_small_volume_must_give_a_template(customer_client, settings):
    settings.PORTAL_PERSONAL_VOLUME_LIMIT = 50
    assert_refused(post(customer_client, answers(daily_volume=51)), "email_template", "example of the email")


def test_other_software_must_be_named(customer_client):
    assert_refused(post(customer_client, answers(mail_software="other")), "mail_software_other", "Name the")


def test_oversize_template_is_refused(customer_client, settings):
    settings.PORTAL_MAX_TEMPLATE_BYTES = 1000
    data = marketing_answers(email_template="é" * 600)  # 1,200 bytes in UTF-8
    assert_refused(post(customer_client, data), "email_template", "under 1 KB")


def test_account_with_an_open_request_is_sent_back_to_its_status(customer_client):
    post(customer_client, answers())
    response = customer_client.get(URL)
    assert response.status_code == 302
    assert response.url == reverse("port25")
    assert UnblockRequest.objects.count() == 1


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_policy_is_linked_from_the_form_and_readable_without_signing_in(customer_client, client):
    assert reverse("acceptable_use").encode() in customer_client.get(URL).content
    assert b"open relays" in client.get(reverse("acceptable_use")).content
