"""Status changes happen only along the allowed moves, each leaving one timeline event."""

from datetime import UTC, datetime

import pytest
import time_machine

from requests_app.lifecycle import ALLOWED_TRANSITIONS, IllegalTransition, transition
from requests_app.models import RequestEvent, Status, UnblockRequest
from requests_app.services import submit_request
from tests.conftest import answers


@pytest.fixture
def unblock_request(account, customer):
    return submit_request(account, customer, answers())


def test_allowed_move_changes_status_and_records_who_and_why(unblock_request, customer):
    transition(unblock_request.pk, Status.CHECKING, actor=customer, message="checks started")
    unblock_request.refresh_from_db()
    assert unblock_request.status == Status.CHECKING
    event = unblock_request.events.last()
    assert (event.from_status, event.to_status, event.actor, event.message) == (
        Status.SUBMITTED,
        Status.CHECKING,
        customer,
        "checks started",
    )


@pytest.mark.parametrize("closed", [Status.REJECTED, Status.WITHDRAWN])
def test_closed_requests_cannot_move(unblock_request, closed):
    unblock_request.status = closed
    unblock_request.save()
    events_before = RequestEvent.objects.count()
    for target in Status.values:
        with pytest.raises(IllegalTransition):
            transition(unblock_request.pk, target, actor=None)
    unblock_request.refresh_from_db()
    assert unblock_request.status == closed
    assert RequestEvent.objects.count() == events_before


def test_approved_can_only_be_reversed_to_rejected(unblock_request):
    unblock_request.status = Status.APPROVED
    unblock_request.save()
    for target in set(Status.values) - {Status.REJECTED}:
        with pytest.raises(IllegalTransition):
            transition(unblock_request.pk, target, actor=None)
    assert transition(unblock_request.pk, Status.REJECTED, actor=None).status == Status.REJECTED


def test_submitted_cannot_jump_to_approved(unblock_request):
    with pytest.raises(IllegalTransition, match="submitted to approved"):
        transition(unblock_request.pk, Status.APPROVED, actor=None)


def test_expected_status_guards_against_a_concurrent_change(unblock_request):
    transition(unblock_request.pk, Status.AWAITING_REVIEW, actor=None)
    with pytest.raises(IllegalTransition):
        transition(unblock_request.pk, Status.NEEDS_INFO, actor=None, expected_from=Status.CHECKING)


def test_every_status_has_a_rule():
    assert set(ALLOWED_TRANSITIONS) == set(Status.values)
    assert all(targets <= set(Status.values) for targets in ALLOWED_TRANSITIONS.values())


# The lifecycle as DESIGN.md draws it, written out again here so that a change of the table is seen.
MOVES = {
    Status.SUBMITTED: {Status.CHECKING, Status.AWAITING_REVIEW, Status.WITHDRAWN},
    Status.CHECKING: {Status.AWAITING_REVIEW, Status.NEEDS_INFO, Status.WITHDRAWN, Status.REJECTED},
    Status.AWAITING_REVIEW: {Status.APPROVED, Status.REJECTED, Status.NEEDS_INFO, Status.CHECKING, Status.WITHDRAWN},
    Status.NEEDS_INFO: {Status.CHECKING, Status.AWAITING_REVIEW, Status.REJECTED, Status.WITHDRAWN},
    Status.APPROVED: {Status.REJECTED},
    Status.REJECTED: set(),
    Status.WITHDRAWN: set(),
}


@pytest.mark.parametrize("start", Status.values)
def test_each_status_moves_exactly_where_the_lifecycle_allows(unblock_request, start):
    moved = set()
    for to in Status.values:
        UnblockRequest.objects.filter(pk=unblock_request.pk).update(status=start)
        try:
            transition(unblock_request.pk, to, actor=None)
        except IllegalTransition as refused:
            assert (refused.request.pk, refused.to) == (unblock_request.pk, to)
            assert str(refused) == f"request #{unblock_request.pk} cannot go from {start} to {to}"
        else:
            moved.add(to)
    assert moved == MOVES[start]


def test_a_move_records_when_and_a_closing_move_when_it_was_decided(unblock_request):
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        transition(unblock_request.pk, Status.AWAITING_REVIEW, actor=None)
    unblock_request.refresh_from_db()
    assert unblock_request.status_changed_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert unblock_request.decided_at is None

    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=UTC), tick=False):
        returned = transition(unblock_request.pk, Status.APPROVED, actor=None)
    unblock_request.refresh_from_db()
    assert returned.status == unblock_request.status == Status.APPROVED
    assert unblock_request.status_changed_at == unblock_request.decided_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert unblock_request.updated_at >= datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_the_expected_status_lets_the_move_through_when_it_is_still_so(unblock_request):
    moved = transition(unblock_request.pk, Status.CHECKING, actor=None, expected_from=Status.SUBMITTED)

    assert moved.status == Status.CHECKING
    event = RequestEvent.objects.get(request=unblock_request, to_status=Status.CHECKING)
    assert event.message == "", "no message given, none recorded"


def test_a_refused_move_writes_nothing(unblock_request):
    with pytest.raises(IllegalTransition):
        transition(unblock_request.pk, Status.APPROVED, actor=None, message="too early")

    unblock_request.refresh_from_db()
    assert (unblock_request.status, unblock_request.decided_at) == (Status.SUBMITTED, None)
    assert not RequestEvent.objects.filter(message="too early").exists()
