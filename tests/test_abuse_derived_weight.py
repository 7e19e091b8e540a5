"""The policy weighs a report whose address was derived from the Received headers lower than one
whose reporter stated it (PORTAL_ABUSE_DERIVED_WEIGHT), in the triage's query and in the decision."""

from datetime import timedelta

import pytest
from django.utils import timezone

from abuse import intake
from abuse.models import PolicyDecision, Revocation, SourceRule
from abuse.reports import ReportInput
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from tests.abuse_samples import backdate_addresses
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import eager_tasks


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_INSTANT_CATEGORIES = ["spamtrap"]
    settings.PORTAL_ABUSE_REVOKE_AFTER = 3
    settings.PORTAL_ABUSE_WARN_AFTER = 1
    settings.PORTAL_ABUSE_WINDOW_HOURS = 24
    settings.PORTAL_ABUSE_DERIVED_WEIGHT = 0.5


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def run(action):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def open_account(account, run):
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    run(lambda: set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok"))
    return account


def reports(n: int, rule: str, category: str = "spam") -> list[ReportInput]:
    return [
        ReportInput(
            category=category,
            source_ip=CUSTOMER_IPS[0],
            occurred_at=timezone.now() - timedelta(minutes=5),
            reference=f"{rule}-{category}-{i}",
            evidence={"i": i},
            source_rule=rule,
        )
        for i in range(n)
    ]


def report(run, n: int, rule: str, category: str = "spam") -> None:
    """Each report taken in, and weighed, on its own."""
    for stated in reports(n, rule, category):
        run(lambda stated=stated: intake.accept(stated, raw=b"{}", channel="arf"))


def outcomes(account) -> list[str]:
    return list(PolicyDecision.objects.filter(account=account).order_by("pk").values_list("outcome", flat=True))


def test_three_stated_complaints_revoke(open_account, run):
    report(run, 3, SourceRule.DECLARED)

    assert outcomes(open_account) == ["warn", "revoke"]


@pytest.mark.parametrize("rule", [SourceRule.OUTSIDE_HOP, SourceRule.INVENTORY])
def test_three_derived_complaints_weigh_one_and_a_half_and_only_warn(open_account, run, rule):
    report(run, 3, rule)

    assert outcomes(open_account) == ["warn"]
    assert not Revocation.objects.exists()


def test_complaints_weighed_at_once_count_a_derived_one_at_its_weight(open_account, run):
    """One stated and two derived complaints taken in before the policy runs weigh two of three."""
    taken_in = reports(1, SourceRule.DECLARED) + reports(2, SourceRule.OUTSIDE_HOP)

    run(lambda: [intake.accept(stated, raw=b"{}", channel="arf") for stated in taken_in])

    assert outcomes(open_account) == ["warn"]
    assert PolicyDecision.objects.get().reports.count() == 3


def test_six_derived_complaints_revoke(open_account, run):
    report(run, 6, SourceRule.OUTSIDE_HOP)

    assert outcomes(open_account) == ["warn", "revoke"]


def test_one_derived_spam_trap_hit_does_not_revoke_alone_two_do(open_account, run):
    report(run, 1, SourceRule.OUTSIDE_HOP, category="spamtrap")
    assert outcomes(open_account) == []

    report(run, 1, SourceRule.OUTSIDE_HOP, category="spamtrap")  # a second hit: together they weigh one
    assert outcomes(open_account) == ["revoke"]


def test_a_weight_of_one_counts_derived_addresses_fully(open_account, run, settings):
    settings.PORTAL_ABUSE_DERIVED_WEIGHT = 1.0

    report(run, 3, SourceRule.OUTSIDE_HOP)

    assert outcomes(open_account) == ["warn", "revoke"]
