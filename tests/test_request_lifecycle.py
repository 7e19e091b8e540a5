"""Status changes happen only along the allowed moves, each leaving one timeline event."""

import pytest

from requests_app.lifecycle import ALLOWED_TRANSITIONS, IllegalTransition, transition
from requests_app.models import RequestEvent, Status
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
