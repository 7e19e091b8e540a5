"""Pages work under the content security policy: no violation reported by Chromium."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser_fixtures import sign_in
from tests.review_fixtures import awaiting

pytestmark = pytest.mark.browser


def violations(page: Page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def test_api_docs_render_without_violations(page):
    found = violations(page)
    page.goto("/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    assert found == []


def test_customer_and_review_pages_render_without_violations(page, live_server, customer, account, reviewer):
    found = violations(page)
    request = awaiting(account, customer)
    sign_in(page, customer, live_server)
    for url in ("/", f"/requests/{request.pk}/", "/accounts/api-tokens/"):
        page.goto(url)
    sign_in(page, reviewer, live_server)
    page.goto(f"/admin/requests_app/unblockrequest/{request.pk}/change/")
    expect(page.get_by_role("link", name="Approve and open port 25")).to_be_visible()
    page.goto("/admin/requests_app/unblockrequest/")
    assert found == []
