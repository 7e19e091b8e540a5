"""A hold a superuser must lift holds on every path back to an open port 25."""

import pytest
from django.test import TestCase
from django.urls import reverse

from egress.models import AccountEgress, EgressSource, EgressState, ReopenLevel
from egress.reopening import ReopenRefused
from egress.services import set_desired_state
from requests_app import review
from requests_app.models import Status
from tests.egress_support import eager_tasks
from tests.review_fixtures import awaiting


@pytest.fixture
def closed_for_good(account):
    set_desired_state(
        account,
        EgressState.BLOCKED,
        source=EgressSource.ABUSE,
        reason="third revocation",
        reopen_by=ReopenLevel.SUPERUSER,
    )
    return account


def test_a_reviewers_approval_cannot_reopen_it(closed_for_good, customer, reviewer):
    request = awaiting(closed_for_good, customer)
    with pytest.raises(review.ReviewConflict, match="Only a superuser"):
        review.approve(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW
    assert AccountEgress.objects.get(account=closed_for_good).desired == EgressState.BLOCKED


def test_staff_without_superuser_rights_cannot_reopen_it(closed_for_good, abuse_desk):
    with pytest.raises(ReopenRefused):
        set_desired_state(closed_for_good, EgressState.ALLOWED, source=EgressSource.STAFF, reason="x", actor=abuse_desk)


def test_a_later_ordinary_block_keeps_it_final(closed_for_good, admin_user, abuse_desk):
    set_desired_state(closed_for_good, EgressState.BLOCKED, source=EgressSource.STAFF, reason="again")
    with pytest.raises(ReopenRefused):
        set_desired_state(closed_for_good, EgressState.ALLOWED, source=EgressSource.STAFF, reason="x", actor=abuse_desk)


def test_a_superuser_reopens_it_and_the_lock_is_gone(closed_for_good, customer, admin_user, reviewer):
    request = awaiting(closed_for_good, customer)
    with eager_tasks(), TestCase.captureOnCommitCallbacks(execute=True):
        assert review.approve(request.pk, admin_user, expected_status=Status.AWAITING_REVIEW)
    egress = AccountEgress.objects.get(account=closed_for_good)
    assert egress.desired == EgressState.ALLOWED and not egress.reopen_by


def test_the_egress_admin_form_says_why_it_cannot_reopen(client, closed_for_good, abuse_desk):
    client.force_login(abuse_desk)
    response = client.post(
        reverse("admin:egress_accountegress_decide"),
        {"account": closed_for_good.reference, "state": EgressState.ALLOWED, "reason": "customer fixed it"},
    )
    assert response.status_code == 200
    assert "Only a superuser may open port 25 of this account again." in response.content.decode()
    assert AccountEgress.objects.get(account=closed_for_good).desired == EgressState.BLOCKED
