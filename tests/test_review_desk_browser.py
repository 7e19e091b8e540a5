"""Every reviewer and abuse-desk action in Chromium, as each role that may and may not use it.

Each step checks what was stored, not only what the page says. Screenshots of the desk at 1280 and
390 px are left under var/screenshots/ for a person to look at.
"""

from importlib import import_module

import pytest
from django.apps import apps
from django.conf import settings
from playwright.sync_api import Page, expect

from abuse.models import Revocation, RevocationState
from egress.models import AccountEgress, EgressSource, EgressState
from egress.services import set_desired_state
from requests_app import review
from requests_app.models import RequestMessage, Status, UnblockRequest
from tests.browser_fixtures import sign_in
from tests.review_fixtures import awaiting
from tests.test_abuse_reinstatement import revocation_number
from verification.models import CheckRun

pytestmark = pytest.mark.browser

SCREENSHOTS = settings.VAR_DIR / "screenshots"
FORBIDDEN_TEXT = "403 Forbidden"


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def review_page(page: Page, request: UnblockRequest) -> Page:
    page.goto(f"/admin/requests_app/unblockrequest/{request.pk}/change/")
    return page


def use(page: Page, request: UnblockRequest, link: str, button: str, fields: dict[str, str] | None = None) -> None:
    """Open the action's page from the request's page, fill it in and submit it."""
    review_page(page, request).get_by_role("link", name=link).click()
    for label, value in (fields or {}).items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name=button, exact=True).click()


def fresh(request: UnblockRequest) -> UnblockRequest:
    return UnblockRequest.objects.get(pk=request.pk)


@pytest.fixture
def settings_for_the_desk(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_REINSTATEMENT = ["abuse_desk", "reviewer", "superuser"]
    # A live-server test's database is emptied between tests, seeded rows too: seed them again.
    import_module("requests_app.migrations.0003_seed_rejection_reasons").seed(apps, None)


def test_a_reviewer_uses_every_request_action(
    page, live_server, settings_for_the_desk, reviewer, second_reviewer, account, customer, other_customer
):
    request = awaiting(account, customer, company_name="Initrode")
    sign_in(page, reviewer, live_server)

    review_page(page, request).get_by_role("button", name="Take it").click()
    expect(page.get_by_text("You took this request.")).to_be_visible()
    assert fresh(request).assignee == reviewer
    shoot(page, "review-page")

    review_page(page, request).get_by_role("link", name="Assign this request").click()
    page.get_by_label("Assign to").select_option(label=str(second_reviewer))
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_text("Assignment saved.")).to_be_visible()
    assert fresh(request).assignee == second_reviewer

    use(page, request, "Ask the customer", "Ask the customer", {"Question for the customer": "Which domains send?"})
    expect(page.get_by_text("Question sent")).to_be_visible()
    assert fresh(request).status == Status.NEEDS_INFO
    assert RequestMessage.objects.get(request=request, from_staff=True).body == "Which domains send?"

    review.answer_question(fresh(request), customer, "Only example.com.")
    runs_before = CheckRun.objects.count()
    use(page, request, "Re-run the checks", "Re-run the checks")
    expect(page.get_by_text("Checks queued again.")).to_be_visible()
    assert fresh(request).status == Status.CHECKING and CheckRun.objects.count() == runs_before + 1

    approved = awaiting(other_customer.membership.account, other_customer, company_name="Globex")
    use(page, approved, "Approve and open port 25", "Approve and open port 25", {"Note to the customer": "Welcome"})
    expect(page.get_by_text("Approved: port 25 is being opened")).to_be_visible()
    assert fresh(approved).status == Status.APPROVED
    assert AccountEgress.objects.get(account=approved.account).desired == EgressState.ALLOWED


def test_a_reviewer_rejects_with_a_seeded_reason_withdraws_and_reverses(
    page, live_server, settings_for_the_desk, reviewer, account, customer, other_customer
):
    sign_in(page, reviewer, live_server)
    request = awaiting(account, customer)
    review_page(page, request).get_by_role("link", name="Reject this request").click()
    page.get_by_label("Reason").select_option(label="Open relay")
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.get_by_text("Rejected; the customer is told why.")).to_be_visible()
    rejected = fresh(request)
    assert rejected.status == Status.REJECTED and "open relay" in rejected.decision_reason

    second = awaiting(account, customer)
    use(page, second, "Withdraw for the customer", "Withdraw for the customer", {"Why": "Asked by phone"})
    expect(page.get_by_text("Withdrawn for the customer.")).to_be_visible()
    assert fresh(second).status == Status.WITHDRAWN

    auto = awaiting(other_customer.membership.account, other_customer)
    review.approve(auto.pk, None, expected_status=Status.AWAITING_REVIEW, note="policy", auto=True)
    use(page, auto, "Reverse the automatic approval", "Reverse the automatic approval", {"Why": "Spam seen"})
    expect(page.get_by_text("Automatic approval reversed")).to_be_visible()
    assert fresh(auto).status == Status.REJECTED
    assert AccountEgress.objects.get(account=auto.account).desired == EgressState.BLOCKED


def test_the_abuse_desk_cannot_decide_requests_but_works_its_own_desk(
    page, live_server, settings_for_the_desk, abuse_desk, admin_user, account, customer, other_customer
):
    request = awaiting(account, customer)
    sign_in(page, abuse_desk, live_server)
    review_page(page, request)
    expect(page.get_by_text("You may read this request but not decide on it")).to_be_visible()
    expect(page.get_by_role("link", name="Approve and open port 25")).to_have_count(0)
    for action in ("take", "approve", "reject"):
        page.goto(f"/admin/requests_app/unblockrequest/{request.pk}/review/{action}/")
        expect(page.get_by_text(FORBIDDEN_TEXT)).to_be_visible()
    assert (fresh(request).status, fresh(request).assignee) == (Status.AWAITING_REVIEW, None)

    revocation = revocation_number(other_customer.membership.account, 1, admin_user)
    page.goto(f"/admin/abuse/revocation/{revocation.pk}/reinstate/")
    page.get_by_label("Note to the customer").fill("Mailbox password reset.")
    page.get_by_role("button", name="Reinstate").click()
    expect(page.get_by_text("Done:")).to_be_visible()
    revocation.refresh_from_db()
    assert (revocation.state, revocation.decided_by) == (RevocationState.REINSTATED, abuse_desk)

    page.goto(f"/admin/egress/accountegress/decide/?account={account.reference}")
    page.get_by_label("Blocked").check()
    page.get_by_label("Reason").fill("Phishing seen from this account.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("is now Blocked")).to_be_visible()
    egress = AccountEgress.objects.get(account=account)
    assert (egress.desired, egress.source) == (EgressState.BLOCKED, EgressSource.STAFF)


def test_a_reviewer_cannot_block_by_hand_nor_reopen_a_revocation_without_the_rank(
    page, live_server, settings_for_the_desk, reviewer, admin_user, account
):
    sign_in(page, reviewer, live_server)
    page.goto(f"/admin/egress/accountegress/decide/?account={account.reference}")
    expect(page.get_by_text(FORBIDDEN_TEXT)).to_be_visible()

    revocation = revocation_number(account, 3, admin_user)  # the third: a superuser's to undo
    page.goto(f"/admin/abuse/revocation/{revocation.pk}/new-request/")
    # The page itself is refused, not only its submit (security finding 8).
    expect(page.get_by_text(FORBIDDEN_TEXT)).to_be_visible()
    expect(page.get_by_label("Note to the customer")).to_have_count(0)
    revocation.refresh_from_db()
    assert revocation.state == RevocationState.ACTIVE
    assert AccountEgress.objects.get(account=account).desired == EgressState.BLOCKED


def test_a_superuser_approves_an_unverified_account_with_a_reason(
    page, live_server, settings_for_the_desk, admin_user, account, customer
):
    request = awaiting(account, customer, verified=False)
    sign_in(page, admin_user, live_server)
    page.set_viewport_size({"width": 390, "height": 844})  # usable on a phone too
    review_page(page, request)
    expect(page.get_by_test_id("missing-verifications")).to_be_visible()
    page.get_by_role("link", name="Approve and open port 25").click()
    page.get_by_role("button", name="Approve and open port 25").click()
    expect(page.get_by_text("cannot be approved until the customer completes it")).to_be_visible()
    assert fresh(request).status == Status.AWAITING_REVIEW

    page.get_by_label("Approve although a required verification is missing").fill("Verified by phone.")
    page.get_by_role("button", name="Approve and open port 25").click()
    expect(page.get_by_text("Approved: port 25 is being opened")).to_be_visible()
    assert fresh(request).status == Status.APPROVED
    assert request.events.filter(message__contains="Verified by phone.").exists()


def test_the_requirement_of_a_new_request_by_the_abuse_desk(
    page, live_server, settings_for_the_desk, abuse_desk, admin_user, account
):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    revocation = revocation_number(account, 1, admin_user)
    sign_in(page, abuse_desk, live_server)
    page.goto(f"/admin/abuse/revocation/{revocation.pk}/new-request/")
    page.get_by_label("Note to the customer").fill("Please file a new request once fixed.")
    page.get_by_role("button", name="Require a new request").click()
    expect(page.get_by_text("Done:")).to_be_visible()
    assert Revocation.objects.get(pk=revocation.pk).state == RevocationState.NEW_REQUEST
