"""The customer's first hour on a phone (390 px) in Chromium: told to answer, answers, withdraws after confirming."""

import pytest
from playwright.sync_api import expect

from requests_app.models import Status, UnblockRequest
from requests_app.review import ask_for_information
from tests.review_fixtures import awaiting
from tests.test_review_desk_browser import shoot

pytestmark = pytest.mark.browser


def test_on_a_phone_the_customer_answers_then_withdraws(signed_in_page, account, customer, reviewer):
    page = signed_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    request = awaiting(account, customer)
    ask_for_information(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW, question="Which host sends?")

    page.goto("/")
    expect(page.get_by_test_id("port25-state")).to_have_text("Waiting for your answer")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the screen
    shoot(page, "customer-needs-answer")
    page.get_by_role("link", name="Answer the question").click()
    page.get_by_label("Your answer").fill("Only mail.example.com.")
    page.get_by_role("button", name="Send your answer").click()
    expect(page.get_by_role("status")).to_contain_text("your answer is with the reviewer")
    assert UnblockRequest.objects.get(pk=request.pk).status == Status.AWAITING_REVIEW

    page.get_by_role("link", name="Withdraw this request").click()
    expect(page.get_by_text("This cannot be undone")).to_be_visible()
    page.get_by_role("button", name="Yes, withdraw it").click()
    expect(page.get_by_test_id("request-status")).to_have_text("Withdrawn")
    assert UnblockRequest.objects.get(pk=request.pk).status == Status.WITHDRAWN
