"""A request of an account that lacks a required verification is not approved, unless a superuser says why."""

from egress.models import AccountEgress, EgressState
from requests_app.models import RequestEvent, Status
from tests.review_fixtures import awaiting
from tests.test_review_actions import act, page_messages


def test_a_reviewer_cannot_approve_while_verifications_are_missing(client, reviewer, account, customer):
    request = awaiting(account, customer, verified=False)
    client.force_login(reviewer)
    # A reviewer's form has no override; one posted by hand is ignored.
    response = act(client, request, "approve", override="I know them")
    assert "lacks identity verification and payment method verification" in page_messages(response)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW
    assert not AccountEgress.objects.filter(desired=EgressState.ALLOWED).exists()


def test_only_the_required_verifications_count(client, reviewer, account, customer, settings):
    settings.PORTAL_REQUIRED_VERIFICATIONS = ["identity"]
    request = awaiting(account, customer, verified=False)
    account.record_verification("identity", None)
    client.force_login(reviewer)
    act(client, request, "approve")
    request.refresh_from_db()
    assert request.status == Status.APPROVED


def test_a_superuser_overrides_with_a_reason_that_is_recorded(client, admin_user, account, customer):
    request = awaiting(account, customer, verified=False)
    client.force_login(admin_user)
    response = act(client, request, "approve", override="")
    assert "cannot be approved until the customer completes it" in page_messages(response)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW

    act(client, request, "approve", override="Verified by phone with the account owner.")
    request.refresh_from_db()
    assert request.status == Status.APPROVED
    note = request.events.get(kind=RequestEvent.Kind.NOTE)
    assert note.actor == admin_user
    assert "identity verification and payment method verification" in note.message
    assert "Verified by phone with the account owner." in note.message
    assert AccountEgress.objects.get(account=account).desired == EgressState.ALLOWED


def test_the_review_page_says_what_is_missing(client, reviewer, account, customer):
    request = awaiting(account, customer, verified=False)
    client.force_login(reviewer)
    body = client.get(f"/admin/requests_app/unblockrequest/{request.pk}/change/").content.decode()
    assert "Not verified yet: identity verification, payment method verification" in body
