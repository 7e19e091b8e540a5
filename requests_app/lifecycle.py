"""The one place a request changes status: locked, checked against the allowed moves, recorded."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from requests_app.models import CLOSED_STATUSES, RequestEvent, Status, UnblockRequest

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.SUBMITTED: frozenset({Status.CHECKING, Status.AWAITING_REVIEW, Status.WITHDRAWN}),
    Status.CHECKING: frozenset({Status.AWAITING_REVIEW, Status.NEEDS_INFO, Status.WITHDRAWN, Status.REJECTED}),
    Status.AWAITING_REVIEW: frozenset(
        {Status.APPROVED, Status.REJECTED, Status.NEEDS_INFO, Status.CHECKING, Status.WITHDRAWN}
    ),
    Status.NEEDS_INFO: frozenset({Status.CHECKING, Status.AWAITING_REVIEW, Status.REJECTED, Status.WITHDRAWN}),
    # Only a reviewer reversing the auto-decision policy (review.reverse_auto_approval).
    Status.APPROVED: frozenset({Status.REJECTED}),
    Status.REJECTED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}


def can_move(status: str, to: str) -> bool:
    """Whether a request in `status` may go to `to`: the rule transition() enforces."""
    return to in ALLOWED_TRANSITIONS[status]


class IllegalTransition(Exception):
    def __init__(self, request: UnblockRequest, to: str) -> None:
        super().__init__(f"request #{request.pk} cannot go from {request.status} to {to}")
        self.request = request
        self.to = to


def transition(
    request_id: int, to: str, *, actor: User | None, message: str = "", expected_from: str | None = None
) -> UnblockRequest:
    """Move the request to `to`, or raise IllegalTransition.

    `expected_from` lets a caller that showed a person one status refuse to act
    when somebody else moved the request in the meantime.
    """
    with transaction.atomic():
        request = UnblockRequest.objects.select_for_update().get(pk=request_id)
        if not can_move(request.status, to) or (expected_from is not None and request.status != expected_from):
            raise IllegalTransition(request, to)
        previous = request.status
        request.status = to
        request.status_changed_at = timezone.now()
        if to in CLOSED_STATUSES:
            request.decided_at = request.status_changed_at
        request.save(update_fields=["status", "status_changed_at", "decided_at", "updated_at"])
        RequestEvent.objects.create(request=request, actor=actor, from_status=previous, to_status=to, message=message)
    return request
