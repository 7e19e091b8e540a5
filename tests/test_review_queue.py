"""The review queue: the right requests first, filters that work, a constant number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import register_customer
from requests_app import check_flow
from requests_app.lifecycle import transition
from requests_app.models import Status, UnblockRequest
from requests_app.services import submit_request
from tests.conftest import answers
from tests.review_fixtures import finished_run

URL = reverse("admin:requests_app_unblockrequest_changelist")


def make_requests(n: int, status: str = Status.AWAITING_REVIEW, **fields) -> list[UnblockRequest]:
    start = UnblockRequest.objects.count()
    rows = []
    for i in range(start, start + n):
        user = register_customer(f"c{i}@example.org", "x", f"Customer {i}")
        data = {k: v for k, v in answers(company_name=f"Company {i}").items() if k != "accept_aup"}
        rows.append(
            UnblockRequest(
                account=user.membership.account,
                created_by=user,
                status=status,
                aup_accepted_at=timezone.now(),
                status_changed_at=timezone.now() - timedelta(hours=i),
                **{**data, **fields},
            )
        )
    return UnblockRequest.objects.bulk_create(rows)


def listed(response) -> list[int]:
    return [r.pk for r in response.context["cl"].result_list]


def test_default_queue_is_awaiting_review_oldest_first(client, reviewer):
    waiting = make_requests(3)
    make_requests(2, status=Status.NEEDS_INFO)
    client.force_login(reviewer)
    response = client.get(URL)
    assert listed(response) == [r.pk for r in sorted(waiting, key=lambda r: r.status_changed_at)]


@pytest.mark.parametrize(
    ("query", "expected_status"),
    [("needs_info", Status.NEEDS_INFO), ("stuck", Status.CHECKING), ("decided", Status.APPROVED)],
)
def test_each_queue_shows_its_requests(client, reviewer, query, expected_status, settings):
    make_requests(1)
    target = make_requests(1, status=expected_status, decided_at=timezone.now())[0]
    # No progress for longer than the sweep waits: stuck, if it is checking.
    no_progress = timezone.now() - timedelta(seconds=settings.PORTAL_CHECK_STUCK_AFTER + 60)
    UnblockRequest.objects.filter(pk=target.pk).update(updated_at=no_progress)
    client.force_login(reviewer)
    assert listed(client.get(URL, {"queue": query})) == [target.pk]


def test_fresh_checking_is_not_stuck(client, reviewer):
    fresh = make_requests(1, status=Status.CHECKING)[0]
    UnblockRequest.objects.filter(pk=fresh.pk).update(status_changed_at=timezone.now(), updated_at=timezone.now())
    client.force_login(reviewer)
    assert listed(client.get(URL, {"queue": "stuck"})) == []


def test_risk_band_and_failure_filters(client, reviewer):
    low, high = make_requests(2)
    UnblockRequest.objects.filter(pk=low.pk).update(risk_score=10)
    UnblockRequest.objects.filter(pk=high.pk).update(risk_score=85, check_failures=2, check_summary="open relay")
    client.force_login(reviewer)
    assert listed(client.get(URL, {"risk": "high"})) == [high.pk]
    assert listed(client.get(URL, {"risk": "low"})) == [low.pk]
    assert listed(client.get(URL, {"failures": "yes"})) == [high.pk]
    body = client.get(URL).content.decode()
    assert 'class="risk risk-high">85<' in body and "open relay" in body


@pytest.mark.parametrize("term", ["Company 1", "c1@example.org", "198.51.100.7", "example.com", "Customer 1"])
def test_search_finds_by_company_email_ip_domain_and_account(client, reviewer, term):
    make_requests(2)
    client.force_login(reviewer)
    assert listed(client.get(URL, {"q": term, "queue": "all"}))
    assert not listed(client.get(URL, {"q": "no-such-thing", "queue": "all"}))


def test_query_count_does_not_grow_with_rows(client, reviewer):
    client.force_login(reviewer)
    make_requests(10)
    with CaptureQueriesContext(connection) as ten:
        assert client.get(URL).status_code == 200
    make_requests(990)
    with CaptureQueriesContext(connection) as thousand:
        response = client.get(URL)
    assert response.context["cl"].result_count == 1000
    assert len(thousand) == len(ten)


def test_finished_checks_fill_the_queue_columns(account, customer):
    request = submit_request(account, customer, answers())
    transition(request.pk, Status.CHECKING, actor=None)
    run = finished_run(request, ["pass", "fail", "warn"], names=["relay_probe", "domain_auth", "reverse_dns"])
    check_flow.finish(run, request.pk)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_REVIEW
    assert request.check_failures == 1
    assert request.risk_score == run.risk == 40  # a failure 30, a warning 10
    assert request.check_summary == (
        "SPF, DMARC and MX of the sending domain: Failed · Reverse DNS of the sending IP: Warning · 1 ok"
    )
