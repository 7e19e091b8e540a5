"""axe-core finds no serious or critical accessibility violation on the customer pages and the review desk.

axe-core comes from node_modules (package.json; scripts/test runs `npm ci`). Screenshots of each page at
1280 and 390 px are left under var/screenshots/.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page

from abuse.models import AbuseReport, Revocation
from accounts import two_factor
from accounts.services import register_customer
from egress.models import AccountEgress
from requests_app.services import submit_request
from tests.browser_fixtures import TIMEOUT_MS, sign_in
from tests.conftest import PASSWORD, answers
from tests.parts import missing
from tests.review_fixtures import awaiting
from tests.test_abuse_reinstatement import revocation_number
from tests.test_review_desk_browser import shoot
from tests.two_factor_support import password_only_login

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


def password_only_page(page: Page, live_server, user) -> Page:
    """The browser of a member of staff who passed the password, not yet the second factor."""
    client = password_only_login(Client(), user)
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}
    page.context.add_cookies([cookie])
    return page


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


def test_customer_pages(axe_page, live_server, settings, customer, account, other_customer, admin_user):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    found = severe_violations(axe_page, "/accounts/login/", "customer-login")
    found += severe_violations(axe_page, "/accounts/signup/", "customer-signup")
    found += severe_violations(axe_page, "/accounts/password-reset/", "customer-password-reset")
    settings.PORTAL_DEMO_CONTROL_PANEL = True
    sign_in(axe_page, register_customer("new@startup.test", PASSWORD, "Startup"), live_server)
    found += severe_violations(axe_page, "/requests/new/", "customer-no-servers")
    found += severe_violations(axe_page, "/accounts/demo-control-panel/", "demo-control-panel")
    sign_in(axe_page, other_customer, live_server)
    found += severe_violations(axe_page, "/requests/new/", "customer-request-form")
    revocation_number(other_customer.membership.account, 1, admin_user)
    found += severe_violations(axe_page, "/abuse/", "customer-revocation")
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
    staff_page = password_only_page(axe_page, live_server, reviewer)
    found = severe_violations(staff_page, "/admin/two-factor/", "staff-two-factor-not-issued")
    link = two_factor.enrolment_url(two_factor.issue_enrolment(reviewer)).removeprefix(settings.PORTAL_BASE_URL)
    found += severe_violations(staff_page, link, "staff-two-factor-enrol")
    sign_in(axe_page, reviewer, live_server)
    for url, name in [
        ("/admin/", "staff-index"),
        ("/admin/requests_app/unblockrequest/", "staff-queue"),
        (f"/admin/requests_app/unblockrequest/{request.pk}/change/", "staff-review"),
        (f"/admin/requests_app/unblockrequest/{request.pk}/review/reject/", "staff-reject"),
        ("/admin/requests_app/unblockrequest/dashboard/", "staff-dashboard"),
    ]:
        found += severe_violations(axe_page, url, name)
    assert found == [], "\n".join(found)


def test_egress_and_abuse_desk_pages(axe_page, live_server, settings, account, other_customer, admin_user):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    revocation = revocation_number(account, 1, admin_user)
    egress, report = AccountEgress.objects.get(account=account), AbuseReport.objects.first()
    assert Revocation.objects.count() == 1 and report is not None
    sign_in(axe_page, admin_user, live_server)
    found = []
    for url, name in [
        ("/admin/egress/accountegress/", "staff-egress-states"),
        ("/admin/egress/accountegress/decide/", "staff-egress-decide"),
        (f"/admin/egress/accountegress/{egress.pk}/change/", "staff-egress-state"),
        ("/admin/egress/egresschange/", "staff-egress-changes"),
        ("/admin/egress/egresstarget/", "staff-egress-targets"),
        ("/admin/abuse/abusereport/", "staff-abuse-reports"),
        (f"/admin/abuse/abusereport/{report.pk}/change/", "staff-abuse-report"),
        ("/admin/abuse/revocation/", "staff-revocations"),
        (f"/admin/abuse/revocation/{revocation.pk}/change/", "staff-revocation"),
        (f"/admin/abuse/revocation/{revocation.pk}/reinstate/", "staff-revocation-reinstate"),
        (f"/admin/abuse/revocation/{revocation.pk}/new-request/", "staff-revocation-new-request"),
        ("/admin/abuse/abuseevent/", "staff-abuse-events"),
        ("/admin/abuse/abuseevent/flagged/", "staff-abuse-flagged"),
        ("/admin/abuse/policydecision/", "staff-policy-decisions"),
        ("/admin/abuse/rejectedreport/", "staff-rejected-reports"),
        ("/admin/abuse/reporter/add/", "staff-reporter-add"),
        ("/admin/abuse/mailboxmessage/", "staff-mailbox"),
    ]:
        found += severe_violations(axe_page, url, name)
    assert found == [], "\n".join(found)
