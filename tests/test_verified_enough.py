""""Verified enough?" has one answer, Account.missing_verifications (PORTAL_REQUIRED_VERIFICATIONS): the
review, the automatic policy and the account-signals check all follow it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from requests_app import auto_decision, review
from requests_app.models import Status
from tests.check_fixtures import make_subject
from tests.review_fixtures import awaiting, finished_run
from verification.checks import account_signals
from verification.outcome import Deadline, Verdict
from verification.selectors import account_facts


def answers(account: Account, customer, reviewer) -> tuple[bool, bool, str]:
    """(the policy would approve, the account-signals verdict, whether a reviewer may approve)."""
    request = awaiting(account, customer, verified=False)
    account = Account.objects.get(pk=account.pk)
    Account.objects.filter(pk=account.pk).update(created_at=timezone.now() - timedelta(days=400))
    facts = account_facts(Account.objects.get(pk=account.pk), earlier_rejections=0, revoked_for_abuse=False)
    verdict = account_signals.check(make_subject(account=facts), Deadline(1)).verdict
    policy = auto_decision.approval_reasons(request, finished_run(request, ["pass", "pass"])) is not None
    try:
        review.approve(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW)
        approved = True
    except review.ReviewConflict:
        approved = False
    return policy, verdict, approved


@pytest.mark.parametrize(
    ("required", "expected"),
    [
        pytest.param(["identity"], (True, Verdict.PASS, True), id="identity required, identity done"),
        pytest.param(["identity", "payment"], (False, Verdict.WARN, False), id="both required, identity done"),
        pytest.param([], (True, Verdict.PASS, True), id="none required"),
    ],
)
def test_the_review_the_policy_and_the_check_give_the_same_answer(
    required, expected, settings, account, customer, reviewer
):
    settings.PORTAL_REQUIRED_VERIFICATIONS = required
    account.record_verification("identity", None)

    assert answers(account, customer, reviewer) == expected
