"""The staff dashboard: queue depth, oldest waiting, decisions, time to decision."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from abuse.revocations import revoke
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from operations.review_dashboard import review_dashboard
from requests_app import review
from requests_app.models import Status, UnblockRequest
from tests.review_fixtures import awaiting


def test_figures_follow_the_queue_and_decisions(account, customer, other_customer, reviewer):
    first = awaiting(account, customer)
    UnblockRequest.objects.filter(pk=first.pk).update(
        status_changed_at=timezone.now() - timedelta(hours=5), created_at=timezone.now() - timedelta(hours=6)
    )
    second = awaiting(other_customer.membership.account, other_customer)
    figures = review_dashboard()
    assert figures["queue_depth"] == 2
    assert timedelta(hours=5) <= figures["oldest_waiting"] < timedelta(hours=5, minutes=1)

    review.approve(first.pk, reviewer, expected_status=Status.AWAITING_REVIEW)
    assert review_dashboard()["pending_egress_changes"] == 1  # the outbox row, no worker in this test
    revoke(first.account, [], "burst", reason="spam trap")
    assert review_dashboard()["revocations"] == 1
    assert review_dashboard()["traffic_blocks"] == 0
    until = timezone.now() + timedelta(hours=1)
    set_desired_state(second.account, EgressState.BLOCKED, source=EgressSource.TRAFFIC, reason="burst", until=until)
    assert (review_dashboard()["traffic_blocks"], review_dashboard()["revocations"]) == (1, 1)
    review.reject(second.pk, reviewer, expected_status=Status.AWAITING_REVIEW, reason=None, text="no")
    figures = review_dashboard()
    assert figures["queue_depth"] == 0
    assert [(d["approved"], d["rejected"]) for d in figures["decisions_per_day"]] == [(1, 1)]
    assert figures["median_time_to_decision"] >= timedelta(hours=3)


def test_dashboard_page_for_reviewers_only(client, reviewer, customer):
    url = reverse("review_dashboard")
    client.force_login(reviewer)
    response = client.get(url)
    assert response.status_code == 200
    assert 'data-testid="queue-depth">0<' in response.content.decode()
    client.force_login(customer)
    assert client.get(url).status_code == 302
