"""Reports and traffic weighed together (abuse/policy.py), with the clock controlled.

A temporary block after a burst within the report window counts as
PORTAL_ABUSE_TRAFFIC_BLOCK_WEIGHT complaints beside the reports, never alone; and a temporary
block does not shield an account from a revocation. Bursts go through the simulated backend, the
real collector and the traffic policy; reports through the intake, as in production (tasks inline).
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from abuse import intake
from abuse.models import PolicyDecision, PolicyOutcome, Revocation
from abuse.policy import Policy
from abuse.reports import ReportInput
from accounts.models import Account
from egress.adapters.simulated import simulate_connections
from egress.models import EgressSource, EgressState, SimulatedAllowance
from egress.selectors import desired_egress
from egress.tasks import collect_traffic, sweep
from tests.abuse_samples import backdate_addresses
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import decide, eager_tasks

__all__ = ["decide"]  # a fixture

START = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(clock, settings, account, decide, django_capture_on_commit_callbacks):
    """An account open on port 25 for a month, and the two ways in: a burst and a report."""
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}
    settings.PORTAL_TRAFFIC_BLOCK_SECONDS = 3600
    settings.PORTAL_TRAFFIC_BLOCKS_TO_REVOKE = 3
    settings.PORTAL_ABUSE_INSTANT_CATEGORIES = ["spamtrap", "malware", "compromised"]
    settings.PORTAL_ABUSE_REVOKE_AFTER = 3
    settings.PORTAL_ABUSE_WARN_AFTER = 1
    settings.PORTAL_ABUSE_WINDOW_HOURS = 24
    settings.PORTAL_ABUSE_TRAFFIC_BLOCK_WEIGHT = 1.0
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    decide(account, EgressState.ALLOWED)

    class Desk:
        def run(self, action):
            with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
                return action()

        def burst(self) -> None:
            simulate_connections("edge", CUSTOMER_IPS[0], 400, over_rate=True)
            self.run(collect_traffic.delay)
            simulate_connections("edge", CUSTOMER_IPS[0], 0, over_rate=False)

        def lift(self) -> None:
            self.run(sweep.delay)

        def report(self, category: str = "spam") -> None:
            def take_in():
                intake.accept(
                    ReportInput(
                        category=category,
                        source_ip=CUSTOMER_IPS[0],
                        occurred_at=timezone.now() - timedelta(minutes=1),
                        reference=f"{category}-{timezone.now().timestamp()}-{PolicyDecision.objects.count()}",
                    ),
                    raw=b"{}",
                    channel="json",
                )

            self.run(take_in)

    return Desk()


def egress_of(account: Account):
    return desired_egress(Account.objects.get(pk=account.pk))


def firewall() -> set[str]:
    return set(SimulatedAllowance.objects.values_list("ip", flat=True))


def test_a_traffic_block_in_the_window_counts_as_a_complaint_beside_the_reports(desk, clock, account):
    desk.burst()
    assert egress_of(account).source == EgressSource.TRAFFIC
    clock.shift(timedelta(hours=2))
    desk.lift()
    assert egress_of(account).desired == EgressState.ALLOWED

    desk.report()
    desk.report()  # two complaints and one block: three, the revocation threshold

    egress = egress_of(account)
    assert (egress.desired, egress.source) == (EgressState.BLOCKED, EgressSource.ABUSE)
    assert firewall() == set()
    revocation = Revocation.objects.get(account=account)
    assert revocation.decision.rule == (
        "2 complaints within 24 h (revocation at 3)."
        " With 1 temporary block after a burst on port 25, counted as 1 complaint(s) each."
    )
    assert revocation.decision.reports.count() == 2


def test_the_rule_counts_every_block_it_weighed(desk, clock, account):
    for _burst in range(2):
        desk.burst()
        clock.shift(timedelta(hours=2))
        desk.lift()

    desk.report()  # one complaint and two blocks: three, the revocation threshold

    assert Revocation.objects.get(account=account).decision.rule == (
        "1 complaint within 24 h (revocation at 3)."
        " With 2 temporary blocks after a burst on port 25, counted as 1 complaint(s) each."
    )


def test_with_weight_zero_the_same_reports_only_warn(desk, clock, account, settings):
    settings.PORTAL_ABUSE_TRAFFIC_BLOCK_WEIGHT = 0
    desk.burst()
    clock.shift(timedelta(hours=2))
    desk.lift()

    desk.report()
    desk.report()

    assert egress_of(account).desired == EgressState.ALLOWED
    assert not Revocation.objects.exists()
    [warning] = PolicyDecision.objects.all()
    assert warning.outcome == PolicyOutcome.WARN and "temporary block" not in warning.rule


def test_a_block_before_the_window_does_not_count(desk, clock, account):
    desk.burst()
    clock.shift(timedelta(hours=25))
    desk.lift()

    desk.report()
    desk.report()

    assert egress_of(account).desired == EgressState.ALLOWED
    [warning] = PolicyDecision.objects.all()
    assert (warning.outcome, warning.rule) == (
        PolicyOutcome.WARN,
        "1 complaint(s) within 24 h (warning from 1, revocation at 3).",
    ), "the rule says nothing of a block it did not count"


def test_a_report_that_revokes_while_the_account_is_blocked_for_a_while_revokes_and_it_does_not_lift(
    desk, clock, account
):
    desk.burst()
    clock.shift(timedelta(minutes=10))

    desk.report("spamtrap")

    egress = egress_of(account)
    assert (egress.desired, egress.source, egress.until) == (EgressState.BLOCKED, EgressSource.ABUSE, None)
    assert Revocation.objects.get(account=account).is_open
    assert not PolicyDecision.objects.filter(outcome=PolicyOutcome.WARN).exists(), "revoked, not only flagged"
    clock.shift(timedelta(hours=2))
    desk.lift()
    assert egress_of(account).desired == EgressState.BLOCKED and firewall() == set()


def test_complaints_below_the_threshold_while_blocked_for_a_while_warn(desk, clock, account):
    desk.burst()
    desk.report()  # one complaint and this block: two of three

    assert (egress_of(account).source, egress_of(account).until) == (EgressSource.TRAFFIC, START + timedelta(hours=1))
    [warning] = PolicyDecision.objects.all()
    assert warning.outcome == PolicyOutcome.WARN and "1 temporary block after a burst" in warning.rule


def test_traffic_alone_never_calls_for_a_verdict_of_the_report_policy():
    policy = Policy(frozenset({"spamtrap"}), revoke_after=3, warn_after=1, window=timedelta(hours=24))
    weighty = Policy(
        frozenset({"spamtrap"}), revoke_after=3, warn_after=1, window=timedelta(hours=24), traffic_block_weight=2
    )

    assert weighty.outcome_for(0, 0, traffic_blocks=5) is None
    assert weighty.outcome_for(0, 1, traffic_blocks=1) == PolicyOutcome.REVOKE
    assert policy.outcome_for(0, 1, traffic_blocks=5) == PolicyOutcome.WARN
