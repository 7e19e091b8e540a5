"""Every form and every session-authenticated write refuses a request without the CSRF token."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.review_fixtures import awaiting

CUSTOMER_POSTS = [
    "request_new", "request_withdraw", "request_answer", "request_rerun_checks", "api_tokens", "logout",
    "api-request-list",
]  # fmt: skip


@pytest.fixture
def strict(customer) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer)
    return browser


@pytest.mark.parametrize("name", CUSTOMER_POSTS)
def test_customer_writes_need_the_token(strict, account, customer, name):
    request = awaiting(account, customer)
    args = [request.pk] if name.startswith("request_") and name != "request_new" else []
    response = strict.post(reverse(name, args=args), {"answer": "x", "name": "x"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "awaiting_review"


@pytest.mark.parametrize("name", ["signup", "login", "password_reset"])
def test_anonymous_forms_need_the_token(db, name):
    response = Client(enforce_csrf_checks=True).post(reverse(name), {"email": "a@example.com"})
    assert response.status_code == 403


def test_review_actions_need_the_token(reviewer, account, customer):
    request = awaiting(account, customer)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reviewer)
    url = reverse("admin:requests_app_unblockrequest_review", args=[request.pk, "approve"])
    assert browser.post(url, {"expected_status": "awaiting_review"}).status_code == 403
    request.refresh_from_db()
    assert request.status == "awaiting_review"


def test_the_abuse_page_form_needs_the_token(strict):
    assert strict.post(reverse("abuse_revocation"), {"note": "fixed"}).status_code == 403
