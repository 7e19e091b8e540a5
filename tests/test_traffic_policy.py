"""The traffic policy with the clock controlled: bursts block for a while, doubling, the third revokes.

Traffic is fed to the `simulated` backend and read by the real collector task; the policy runs
from the signal the collector sends, as in production (tasks inline).
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from abuse.models import AbuseEvent, EventKind, Revocation
from egress.adapters.simulated import simulate_connections
from egress.models import EgressDecision, EgressSource, EgressState, SimulatedAllowance
from egress.services import set_desired_state
from egress.tasks import collect_traffic, sweep
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import decide, eager_tasks

__all__ = ["decide"]  # a fixture

START = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
HOUR = 3600


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def traffic(settings, db, django_capture_on_commit_callbacks):
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}
    settings.PORTAL_TRAFFIC_BLOCK_SECONDS = HOUR
    settings.PORTAL_TRAFFIC_REPEAT_DAYS = 7
    settings.PORTAL_TRAFFIC_BLOCKS_TO_REVOKE = 3
    settings.PORTAL_TRAFFIC_OVER_RATE_HOLD = 600
    settings.PORTAL_TRAFFIC_BURST_PER_MINUTE = 60

    class Traffic:
        def burst(self, ip: str = CUSTOMER_IPS[0], connections: int = 400) -> None:
            simulate_connections("edge", ip, connections, over_rate=True)
            self.collect()

        def collect(self) -> None:
            with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
                collect_traffic.delay()

        def sweep(self) -> None:
            with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
                sweep.delay()

    return Traffic()


def allowed() -> set[str]:
    return set(SimulatedAllowance.objects.values_list("ip", flat=True))


def traffic_blocks(account) -> list[tuple[str, datetime | None]]:
    rows = EgressDecision.objects.filter(account=account, source=EgressSource.TRAFFIC).order_by("id")
    return list(rows.values_list("to_state", "until"))


def test_a_burst_blocks_port_25_for_an_hour_with_the_figures_then_it_opens_by_itself(
    traffic, clock, account, decide
):
    decide(account, EgressState.ALLOWED)
    traffic.burst(connections=400)

    account.egress.refresh_from_db()
    assert (account.egress.desired, account.egress.source) == (EgressState.BLOCKED, EgressSource.TRAFFIC)
    assert account.egress.until == START + timedelta(hours=1)
    assert "400 new connections" in account.egress.reason and CUSTOMER_IPS[0] in account.egress.reason
    assert allowed() == set(), "the firewall closed at once"

    clock.shift(timedelta(minutes=59))
    traffic.sweep()
    assert allowed() == set()
    clock.shift(timedelta(minutes=1))
    traffic.sweep()
    assert allowed() == set(CUSTOMER_IPS)


def test_each_repeat_within_the_window_doubles_the_block_and_the_third_revokes(traffic, clock, account, decide):
    decide(account, EgressState.ALLOWED)
    traffic.burst()
    clock.shift(timedelta(hours=1))
    traffic.sweep()
    clock.shift(timedelta(minutes=30))
    traffic.burst()
    account.egress.refresh_from_db()
    assert account.egress.until == START + timedelta(hours=1, minutes=30) + timedelta(hours=2)

    clock.shift(timedelta(hours=2))
    traffic.sweep()
    clock.shift(timedelta(minutes=30))
    traffic.burst()

    account.egress.refresh_from_db()
    assert (account.egress.desired, account.egress.source, account.egress.until) == ("blocked", "abuse", None)
    (revocation,) = Revocation.objects.filter(account=account)
    assert "Burst number 3" in revocation.decision.rule
    assert "new connections" in revocation.reason
    clock.shift(timedelta(days=1))
    traffic.sweep()
    assert allowed() == set(), "a revocation does not lift by itself"


def test_a_burst_after_the_window_starts_again_at_an_hour(traffic, clock, account, decide):
    decide(account, EgressState.ALLOWED)
    traffic.burst()
    clock.shift(timedelta(days=8))
    traffic.sweep()
    traffic.burst()
    blocks = EgressDecision.objects.filter(account=account, until__isnull=False).order_by("id")
    assert [block.until - block.decided_at for block in blocks] == [timedelta(hours=1)] * 2


def test_a_burst_from_a_blocked_account_changes_nothing(traffic, clock, account):
    traffic.burst()
    assert traffic_blocks(account) == []


def test_one_burst_seen_over_several_readings_blocks_once(traffic, clock, account, decide):
    decide(account, EgressState.ALLOWED)
    traffic.burst()
    clock.shift(timedelta(minutes=1))
    traffic.burst()  # still in the over-rate set; the address is blocked now, so counted as attempts
    assert [state for state, _until in traffic_blocks(account)] == ["blocked"]


def test_a_temporary_block_is_on_the_abuse_timeline_and_the_customer_is_told_when_it_lifts(
    traffic, clock, account, decide, mailoutbox
):
    decide(account, EgressState.ALLOWED)
    traffic.burst(connections=400)

    (event,) = AbuseEvent.objects.filter(account=account)
    assert event.kind == EventKind.TRAFFIC_BLOCKED and "400 new connections" in event.message
    (mail,) = mailoutbox
    assert "400 new connections" in mail.body
    assert "opens again by itself at 2026-03-02 13:00 UTC" in mail.body


def test_a_blocked_server_trying_port_25_is_told_to_the_customer_once_a_day(traffic, clock, account, mailoutbox):
    simulate_connections("edge", CUSTOMER_IPS[0], 10)  # at the threshold: not yet
    traffic.collect()
    assert mailoutbox == []

    simulate_connections("edge", CUSTOMER_IPS[1], 1)
    traffic.collect()
    (mail,) = mailoutbox
    assert "tried to send mail on port 25, which is blocked for your account (11 attempts" in mail.body
    assert "may be compromised" in mail.body
    assert mail.to == [account.memberships.get().user.email]

    clock.shift(timedelta(hours=2))
    simulate_connections("edge", CUSTOMER_IPS[0], 50)
    traffic.collect()
    assert len(mailoutbox) == 1, "at most once a day"

    clock.shift(timedelta(hours=23))
    simulate_connections("edge", CUSTOMER_IPS[0], 50)
    traffic.collect()
    assert len(mailoutbox) == 2
    assert AbuseEvent.objects.filter(account=account, kind=EventKind.TOLD_BLOCKED_TRIES).count() == 2


def test_far_more_than_declared_over_a_whole_day_warns_once_and_flags_without_blocking(
    traffic, clock, account, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_TRAFFIC_DECLARED_MULTIPLE = 5
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        set_desired_state(account, "allowed", source="request", reason="ok", expected_daily_volume=100)
    simulate_connections("edge", CUSTOMER_IPS[0], 300)
    traffic.collect()
    clock.shift(timedelta(hours=6))
    simulate_connections("edge", CUSTOMER_IPS[1], 201)
    traffic.collect()
    assert mailoutbox == [], "the day is not over yet"

    clock.shift(timedelta(hours=12))  # the next day
    traffic.collect()
    traffic.collect()

    (event,) = AbuseEvent.objects.filter(account=account, kind=EventKind.OVER_DECLARED)
    assert event.message == "501 new port-25 connections on 2026-03-02; the request declared 100 emails a day."
    (mail,) = mailoutbox
    assert "opened 501 new connections" in mail.body and "declared 100 emails a day" in mail.body
    account.egress.refresh_from_db()
    assert account.egress.desired == EgressState.ALLOWED, "a warning, not a block"


def test_five_times_the_declaration_is_still_within_it(traffic, clock, account, mailoutbox, decide, settings):
    settings.PORTAL_TRAFFIC_DECLARED_MULTIPLE = 5
    decide(account, EgressState.ALLOWED)
    account.egress.expected_daily_volume = 100
    account.egress.save()
    simulate_connections("edge", CUSTOMER_IPS[0], 500)
    traffic.collect()
    clock.shift(timedelta(days=1))
    traffic.collect()
    assert not AbuseEvent.objects.filter(kind=EventKind.OVER_DECLARED).exists()
