"""The auto-decision policy: off by default, narrow when on, recorded, and reversible by staff."""

import pytest
from django.test import TestCase
from django.urls import reverse

from egress.models import AccountEgress, EgressState
from requests_app import review
from requests_app.auto_decision import auto_decide
from requests_app.models import Status, UnblockRequest
from tests.egress_support import eager_tasks
from tests.review_fixtures import awaiting, finished_run
from verification.models import CheckRun


@pytest.fixture
def verified_account(account):
    account.record_verification("identity", None)
    account.record_verification("payment", None)
    return account


@pytest.fixture
def policy_on(settings):
    settings.PORTAL_AUTO_APPROVE = True
    settings.PORTAL_AUTO_APPROVE_MAX_VOLUME = 100


def decide(request: UnblockRequest, run: CheckRun) -> bool:
    with eager_tasks(), TestCase.captureOnCommitCallbacks(execute=True):
        return auto_decide(request.pk, run)


def test_policy_is_off_by_default(verified_account, customer):
    request = awaiting(verified_account, customer)
    assert not decide(request, finished_run(request, ["pass", "pass"]))
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW


def test_policy_approves_a_clean_small_request_and_says_why(policy_on, verified_account, customer):
    request = awaiting(verified_account, customer)
    assert decide(request, finished_run(request, ["pass", "pass", "pass"]))
    request.refresh_from_db()
    assert request.status == Status.APPROVED and request.auto_decided
    assert "all 3 automated checks passed" in request.decision_reason
    assert request.events.last().actor is None
    assert AccountEgress.objects.get(account=verified_account).desired == EgressState.ALLOWED


@pytest.mark.parametrize(
    ("statuses", "overrides", "verify"),
    [
        (["pass", "warn"], {}, True),
        (["pass", "error"], {}, True),
        (["pass"], {"daily_volume": 101, "email_template": "Hello"}, True),
        (["pass"], {}, False),
    ],
)
def test_policy_leaves_anything_else_to_a_person(policy_on, account, customer, statuses, overrides, verify):
    request = awaiting(account, customer, verified=verify, **overrides)
    assert not decide(request, finished_run(request, statuses))
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW


def test_staff_reverse_an_automatic_approval(policy_on, verified_account, customer, reviewer_client):
    request = awaiting(verified_account, customer)
    decide(request, finished_run(request, ["pass"]))
    url = reverse("admin:requests_app_unblockrequest_review", args=[request.pk, "reverse"])
    with eager_tasks(), TestCase.captureOnCommitCallbacks(execute=True):
        reviewer_client.post(url, {"reason": "Domain registered yesterday."})
    request.refresh_from_db()
    assert request.status == Status.REJECTED and not request.auto_decided
    assert request.decision_reason == "Domain registered yesterday."
    assert AccountEgress.objects.get(account=verified_account).desired == EgressState.BLOCKED


def test_a_reviewers_approval_cannot_be_reversed_as_automatic(reviewer_client, account, customer):
    request = awaiting(account, customer)
    with eager_tasks(), TestCase.captureOnCommitCallbacks(execute=True):
        review.approve(request.pk, None, expected_status=Status.AWAITING_REVIEW)
        url = reverse("admin:requests_app_unblockrequest_review", args=[request.pk, "reverse"])
        response = reviewer_client.post(url, {"reason": "x"}, follow=True)
    assert "Only a decision made by the policy" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.APPROVED
