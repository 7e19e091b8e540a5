"""Two reviewers deciding the same request at once: one wins, nothing is applied twice."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from egress.models import EgressDecision
from requests_app import review
from requests_app.models import Status, UnblockRequest
from tests.parts import missing, need_postgres
from tests.review_fixtures import awaiting


@missing(need_postgres("row locks"))
@pytest.mark.django_db(transaction=True)
def test_approve_and_reject_race_has_one_winner(customer, reviewer, second_reviewer):
    request = awaiting(customer.membership.account, customer)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(name: str, action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
            outcomes[name] = "won"
        except review.ReviewConflict:
            outcomes[name] = "refused"
        finally:
            connection.close()

    approve = lambda: review.approve(request.pk, reviewer, expected_status=Status.AWAITING_REVIEW)  # noqa: E731
    reject = lambda: review.reject(  # noqa: E731
        request.pk, second_reviewer, expected_status=Status.AWAITING_REVIEW, reason=None, text="no"
    )
    threads = [threading.Thread(target=decide, args=a) for a in (("approve", approve), ("reject", reject))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes.values()) == ["refused", "won"]
    request = UnblockRequest.objects.get(pk=request.pk)
    winner = "approve" if outcomes["approve"] == "won" else "reject"
    assert request.status == (Status.APPROVED if winner == "approve" else Status.REJECTED)
    assert request.events.filter(to_status__in=[Status.APPROVED, Status.REJECTED]).count() == 1
    assert EgressDecision.objects.count() == (1 if winner == "approve" else 0)
