"""Temporary decisions: a block with an expiry lifts by itself, back to the state before it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from egress.models import EgressDecision, EgressSource, EgressState, SimulatedAllowance
from egress.services import lift_ended, set_desired_state
from egress.tasks import sweep
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import eager_tasks

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def decide(settings, django_capture_on_commit_callbacks):
    settings.PORTAL_EGRESS_TARGETS = {"edge": {"backend": "simulated"}}

    def _decide(account, state, source=EgressSource.REQUEST, until=None):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            return set_desired_state(account, state, source=source, reason="test", until=until)

    return _decide


def allowed() -> set[str]:
    return set(SimulatedAllowance.objects.values_list("ip", flat=True))


def test_a_temporary_block_lifts_by_itself_when_it_ends(clock, account, decide, django_capture_on_commit_callbacks):
    decide(account, EgressState.ALLOWED)
    decide(account, EgressState.BLOCKED, source=EgressSource.TRAFFIC, until=START + timedelta(hours=1))
    assert allowed() == set()

    clock.shift(timedelta(minutes=59))
    assert lift_ended() == 0
    clock.shift(timedelta(minutes=1))
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        sweep.delay()

    assert allowed() == set(CUSTOMER_IPS)
    account.egress.refresh_from_db()
    assert (account.egress.desired, account.egress.until, account.egress.returns_to) == ("allowed", None, "")
    history = list(EgressDecision.objects.filter(account=account).order_by("id").values_list("to_state", "until"))
    assert history == [("allowed", None), ("blocked", START + timedelta(hours=1)), ("allowed", None)]


def test_a_decision_that_is_not_temporary_replaces_the_temporary_one(clock, account, decide):
    decide(account, EgressState.ALLOWED)
    decide(account, EgressState.BLOCKED, source=EgressSource.TRAFFIC, until=START + timedelta(hours=1))
    decide(account, EgressState.BLOCKED, source=EgressSource.ABUSE)
    clock.shift(timedelta(hours=2))
    assert lift_ended() == 0
    account.egress.refresh_from_db()
    assert (account.egress.desired, account.egress.source) == ("blocked", "abuse")


def test_a_temporary_block_on_a_temporary_block_returns_to_the_state_before_both(clock, account, decide):
    decide(account, EgressState.ALLOWED)
    decide(account, EgressState.BLOCKED, source=EgressSource.TRAFFIC, until=START + timedelta(hours=1))
    decide(account, EgressState.BLOCKED, source=EgressSource.TRAFFIC, until=START + timedelta(hours=3))
    clock.shift(timedelta(hours=2))
    assert lift_ended() == 0
    clock.shift(timedelta(hours=1))
    assert lift_ended() == 1
    account.egress.refresh_from_db()
    assert account.egress.desired == EgressState.ALLOWED


def test_a_temporary_block_of_a_blocked_account_ends_blocked(clock, account, decide):
    decide(account, EgressState.BLOCKED, source=EgressSource.TRAFFIC, until=START + timedelta(hours=1))
    clock.shift(timedelta(hours=1))
    assert lift_ended() == 1
    account.egress.refresh_from_db()
    assert account.egress.desired == EgressState.BLOCKED
