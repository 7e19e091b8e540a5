"""A reviewer and a customer in Chromium: question, answer, approval, port 25 open."""

import pytest
from playwright.sync_api import expect

from requests_app.models import Status
from tests.browser_fixtures import sign_in
from tests.review_fixtures import awaiting

pytestmark = pytest.mark.browser


def test_reviewer_asks_customer_answers_reviewer_approves(browser, page, live_server, reviewer, customer, account):
    request = awaiting(account, customer, company_name="Initrode")

    sign_in(page, reviewer, live_server)
    page.goto("/admin/")
    page.get_by_role("link", name="Review queue").click()
    page.get_by_role("link", name="Initrode").click()
    page.get_by_role("link", name="Ask the customer").click()
    page.get_by_label("Question for the customer").fill("Which host names will send mail?")
    page.get_by_role("button", name="Ask the customer").click()
    expect(page.get_by_text("Question sent; the request waits on the customer.")).to_be_visible()

    customer_context = browser.new_context(base_url=live_server.url)
    customer_page = sign_in(customer_context.new_page(), customer, live_server)
    customer_page.goto(f"/requests/{request.pk}/")
    expect(customer_page.get_by_text("Which host names will send mail?")).to_be_visible()
    customer_page.get_by_label("Your answer").fill("Only mail.example.com.")
    customer_page.get_by_role("button", name="Send your answer").click()
    expect(customer_page.get_by_text("your answer is with the reviewer")).to_be_visible()

    page.goto("/admin/requests_app/unblockrequest/")
    page.get_by_role("link", name="Initrode").click()
    expect(page.get_by_text("Only mail.example.com.")).to_be_visible()
    page.get_by_role("link", name="Approve and open port 25").click()
    page.get_by_role("button", name="Approve and open port 25").click()
    expect(page.get_by_text("Approved: port 25 is being opened")).to_be_visible()

    customer_page.goto("/")
    expect(customer_page.get_by_test_id("port25-state")).to_have_text("Open")
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    customer_context.close()
