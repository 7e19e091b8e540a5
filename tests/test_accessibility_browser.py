"""axe-core finds no serious or critical accessibility violation on the customer pages and the review desk.

axe-core comes from node_modules (package.json; scripts/test runs `npm ci`). Screenshots of each page at
1280 and 390 px are left under var/screenshots/.
"""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page

from requests_app.services import submit_request
from tests.browser_fixtures import TIMEOUT_MS, sign_in
from tests.conftest import answers
from tests.parts import missing
from tests.review_fixtures import awaiting
from tests.test_review_desk_browser import shoot

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")

pytestmark = [
    pytest.mark.browser,
    missing(None if AXE.exists() else "needs axe-core in node_modules (npm ci; scripts/test runs it)"),
]


@pytest.fixture
def axe_page(browser, live_server, transactional_db, _live_server_settings) -> Page:
    # The pages forbid inline scripts (CSP); axe is injected by the test, not by the page.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def severe_violations(page: Page, url: str, screenshot: str) -> list[str]:
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    shoot(page, screenshot)
    return [
        f"{url}: {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in SEVERE
    ]


def test_customer_pages(axe_page, live_server, customer, account, other_customer):
    found = severe_violations(axe_page, "/accounts/login/", "customer-login")
    found += severe_violations(axe_page, "/accounts/signup/", "customer-signup")
    sign_in(axe_page, other_customer, live_server)
    found += severe_violations(axe_page, "/requests/new/", "customer-request-form")
    sign_in(axe_page, customer, live_server)
    request = submit_request(account, customer, answers())
    for url, name in [
        ("/", "customer-port25"),
        (f"/requests/{request.pk}/", "customer-request"),
        (f"/requests/{request.pk}/withdraw/", "customer-withdraw"),
        ("/accounts/api-tokens/", "customer-api-tokens"),
        ("/acceptable-use/", "customer-aup"),
    ]:
        found += severe_violations(axe_page, url, name)
    assert found == [], "\n".join(found)


def test_review_desk_pages(axe_page, live_server, reviewer, customer, account):
    request = awaiting(account, customer)
    sign_in(axe_page, reviewer, live_server)
    found = []
    for url, name in [
        ("/admin/", "staff-index"),
        ("/admin/requests_app/unblockrequest/", "staff-queue"),
        (f"/admin/requests_app/unblockrequest/{request.pk}/change/", "staff-review"),
        (f"/admin/requests_app/unblockrequest/{request.pk}/review/reject/", "staff-reject"),
        ("/admin/requests_app/unblockrequest/dashboard/", "staff-dashboard"),
    ]:
        found += severe_violations(axe_page, url, name)
    assert found == [], "\n".join(found)
