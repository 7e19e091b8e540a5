"""A customer's journey in a real browser: sign up, ask for port 25, follow the request.

Debian's Chromium, driven by Playwright against the live server. Controls are found
by their labels and roles, which also proves that they are labelled.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.services import record_server
from requests_app.models import UnblockRequest
from requests_app.services import submit_request
from tests.conftest import PASSWORD, answers

pytestmark = pytest.mark.browser


def fill_common_answers(page: Page, ip: str) -> None:
    page.get_by_label("Company name").fill("Initech")
    page.get_by_label("Company website").fill("https://example.com")
    page.get_by_label("Sending domain").fill("example.com")
    page.get_by_label("What the mail is for").fill("Monthly newsletter to our customers.")
    page.get_by_label("Mail server software").select_option(label="Postfix")
    page.get_by_label("Mail server host name").fill("mail.example.com")
    page.get_by_label("Sending IP address").select_option(ip)
    page.get_by_label("Antivirus and threat mitigation").fill("ClamAV, rspamd outbound, fail2ban on SASL.")
    page.get_by_label("I have read and accept the acceptable-use policy").check()


def marketing_fields(page: Page):
    """The template, unsubscribe link and opt-in answers, which only some use cases ask for."""
    return [
        page.get_by_label("Example email"),
        page.get_by_label("Unsubscribe link"),
        page.get_by_label("How recipients opted in"),
    ]


def test_new_visitor_signs_up_and_asks_for_port_25(page, customer_networks_allowed):
    page.goto("/accounts/signup/")
    page.get_by_label("Company or account name").fill("Initech")
    page.get_by_label("Email address").fill("peter@initech.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # The same answer whatever the address (security finding 6): the welcome mail says to sign in.
    expect(page.get_by_test_id("signup-sent")).to_be_visible()
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill("peter@initech.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("port25-state")).to_have_text("Blocked")

    # The platform records the new customer's first server.
    account = User.objects.get(email="peter@initech.test").membership.account
    record_server(account, "vm-initech-1", "vm-initech-1.example.com", ["198.51.100.50"])

    page.get_by_role("link", name="Ask for port 25 to be opened").click()
    expect(page.get_by_role("heading", name="Ask for port 25 to be opened")).to_be_visible()
    expect(page.get_by_label("Sending IP address").locator("option", has_text="198.51.100.50")).to_have_count(1)

    fill_common_answers(page, "198.51.100.50")
    page.get_by_label("Use case").select_option(label="Personal mail server")
    for field in marketing_fields(page):
        expect(field).to_be_hidden()

    page.get_by_label("Use case").select_option(label="Newsletter / marketing")
    page.get_by_label("Estimated emails per day").fill("5000")
    for field in marketing_fields(page):
        expect(field).to_be_visible()
    template, unsubscribe, optin = marketing_fields(page)
    template.fill(
        "<p>Hello {name}</p><p>Initech, 1 Main St</p><a href='https://example.com/unsubscribe'>Unsubscribe</a>"
    )
    unsubscribe.fill("https://example.com/unsubscribe")
    optin.fill("Double opt-in from the sign-up form on example.com.")
    page.get_by_role("button", name="File the request").click()

    expect(page).to_have_url(re.compile(r"/requests/\d+/$"))
    expect(page.get_by_test_id("request-status")).to_have_text("Submitted")
    answers_shown = page.locator("dl.answers")
    for text in (
        "Initech",
        "https://example.com",
        "Newsletter / marketing",
        "5000",
        "Double opt-in from the sign-up form on example.com.",
        "https://example.com/unsubscribe",
        "Initech, 1 Main St",
        "198.51.100.50",
    ):
        expect(answers_shown).to_contain_text(text)

    page.get_by_role("link", name="Back to port 25 status").click()
    expect(page.get_by_test_id("port25-state")).to_have_text("Pending review")

    request = UnblockRequest.objects.get(account=account)
    assert (request.use_case, request.daily_volume, request.mail_server_ip) == ("marketing", 5000, "198.51.100.50")


def test_personal_request_is_filed_without_template_or_unsubscribe_link(signed_in_page, account):
    page = signed_in_page
    page.goto("/requests/new/")
    fill_common_answers(page, "198.51.100.7")
    page.get_by_label("Use case").select_option(label="Personal mail server")
    page.get_by_label("Estimated emails per day").fill("10")
    for field in marketing_fields(page):
        expect(field).to_be_hidden()
    page.get_by_role("button", name="File the request").click()

    expect(page.get_by_test_id("request-status")).to_have_text("Submitted")
    expect(page.locator("dl.answers")).to_contain_text("Personal mail server")
    request = UnblockRequest.objects.get(account=account)
    assert (request.use_case, request.daily_volume) == ("personal", 10)
    assert request.email_template == ""
    assert request.unsubscribe_url == ""
    assert request.optin_description == ""


def test_personal_volume_above_limit_asks_for_an_example_email(signed_in_page):
    page = signed_in_page
    page.goto("/requests/new/")
    page.get_by_label("Use case").select_option(label="Personal mail server")
    page.get_by_label("Estimated emails per day").fill("10")
    expect(page.get_by_label("Example email")).to_be_hidden()

    page.get_by_label("Estimated emails per day").fill("500")

    expect(page.get_by_label("Example email")).to_be_visible()
    expect(page.get_by_label("Unsubscribe link")).to_be_hidden()


@pytest.mark.parametrize(
    ("website", "message"),
    [
        ("ftp://example.com", "Enter a web address starting with https:// or http://."),
        ("https://private.example.com", "private.example.com points to 10.1.2.3"),
    ],
    ids=["ftp", "internal-host"],
)
def test_server_side_error_is_shown_next_to_its_field_and_nothing_saved(signed_in_page, account, website, message):
    page = signed_in_page
    page.goto("/requests/new/")
    fill_common_answers(page, "198.51.100.7")
    page.get_by_label("Use case").select_option(label="Personal mail server")
    page.get_by_label("Estimated emails per day").fill("10")
    page.get_by_label("Company website").fill(website)
    page.get_by_role("button", name="File the request").click()

    expect(page.locator("[data-field=company_website] .error")).to_contain_text(message)
    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below.")
    expect(page.get_by_label("Company website")).to_have_value(website)
    expect(page.get_by_label("Company name")).to_have_value("Initech")
    assert not UnblockRequest.objects.filter(account=account).exists()


def test_customer_withdraws_request_from_its_page(signed_in_page, account, customer):
    request = submit_request(account, customer, answers())
    page = signed_in_page
    page.goto(f"/requests/{request.pk}/")
    expect(page.get_by_test_id("request-status")).to_have_text("Submitted")

    page.get_by_role("link", name="Withdraw this request").click()
    page.get_by_role("link", name="No, keep it").click()  # a second thought: nothing happens
    expect(page.get_by_test_id("request-status")).to_have_text("Submitted")
    page.get_by_role("link", name="Withdraw this request").click()
    page.get_by_role("button", name="Yes, withdraw it").click()

    expect(page.get_by_test_id("request-status")).to_have_text("Withdrawn")
    expect(page.get_by_role("status")).to_contain_text("Your request is withdrawn.")
    expect(page.get_by_role("link", name="Withdraw this request")).to_have_count(0)
    page.goto("/")
    expect(page.get_by_test_id("port25-state")).to_have_text("Blocked")
