"""GET /metrics: who may scrape it, and that each series says what the database holds.

The series are read from the database at scrape time (operations/metrics.py), so the rows are made
here the way the apps make them and the scrape is parsed with prometheus_client's own parser.
"""

from datetime import UTC, datetime, timedelta

import pytest
import redis
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from abuse.models import AbuseReport, Category, Channel, RejectedReport
from abuse.revocations import revoke
from egress.models import (
    AccountEgress,
    ChangeStatus,
    EgressChange,
    EgressSource,
    EgressState,
    EgressTarget,
    TrafficEvent,
)
from egress.reconcile import reconcile
from egress.services import set_desired_state
from requests_app.models import Status
from requests_app.review import approve, reject
from tests.conftest import redis_url
from tests.parts import missing, need_redis
from tests.review_fixtures import awaiting, finished_run
from verification.models import CheckResult

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def scrape(client, **extra) -> dict[tuple, float]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


# --- who may scrape ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_loopback_may_scrape_by_default_and_other_networks_are_refused(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 403
    assert b"portal_" not in refused.content


@pytest.mark.django_db
def test_a_named_network_may_scrape(client, settings):
    settings.PORTAL_METRICS_ALLOW_NETWORKS = ["10.20.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.21.3.4").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_the_bearer_token_lets_other_networks_scrape_and_a_wrong_one_does_not(client, settings):
    settings.PORTAL_METRICS_TOKEN = "scrape-token-7f3a"
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-7f3a", **outside).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-7f3b", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token scrape-token-7f3a", **outside).status_code == 403
    assert client.get("/metrics", **outside).status_code == 403


@pytest.mark.django_db
def test_without_a_token_configured_no_bearer_token_is_accepted(client, settings):
    settings.PORTAL_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", REMOTE_ADDR="203.0.113.9").status_code == 403


# --- what the series say ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_requests_review_queue_and_decisions(client, account, customer, other_customer, reviewer):
    with time_machine.travel(NOW - timedelta(minutes=30), tick=False):
        first = awaiting(account, customer)
    with time_machine.travel(NOW - timedelta(minutes=10), tick=False):
        second = awaiting(other_customer.membership.account, other_customer)
    with time_machine.travel(NOW, tick=False):
        samples = scrape(client)
    assert value(samples, "portal_unblock_requests", status="awaiting_review") == 2
    assert value(samples, "portal_unblock_requests", status="approved") == 0
    assert value(samples, "portal_review_queue_oldest_age_seconds") == 30 * 60

    with time_machine.travel(NOW, tick=False):
        approve(first.pk, reviewer, expected_status=Status.AWAITING_REVIEW)
        reject(second.pk, None, expected_status=Status.AWAITING_REVIEW, reason=None, text="Policy", auto=True)
        samples = scrape(client)
    assert value(samples, "portal_unblock_requests", status="awaiting_review") == 0
    assert value(samples, "portal_review_queue_oldest_age_seconds") == 0
    assert value(samples, "portal_review_decisions_total", decision="approved", auto="false") == 1
    assert value(samples, "portal_review_decisions_total", decision="rejected", auto="true") == 1
    assert value(samples, "portal_review_decisions_total", decision="approved", auto="true") == 0


@pytest.mark.django_db
def test_check_results_and_their_durations(client, account, customer):
    run = finished_run(awaiting(account, customer), ["pass", "error", "pass"], ["relay", "relay_b", "dns"])
    CheckResult.objects.filter(run=run, check_name="relay").update(duration_ms=700)
    CheckResult.objects.filter(run=run, check_name="dns").update(duration_ms=40)
    CheckResult.objects.filter(run=run, check_name="relay_b").update(duration_ms=3_000)
    CheckResult.objects.create(run=run, check_name="pending_one", position=9)  # not finished: not counted

    samples = scrape(client)
    assert value(samples, "portal_check_results_total", check="relay", status="pass") == 1
    assert value(samples, "portal_check_results_total", check="relay_b", status="error") == 1
    assert ("portal_check_results_total", (("check", "pending_one"), ("status", "pending"))) not in samples
    assert value(samples, "portal_check_duration_seconds_bucket", check="relay", le="0.5") == 0
    assert value(samples, "portal_check_duration_seconds_bucket", check="relay", le="1.0") == 1
    assert value(samples, "portal_check_duration_seconds_bucket", check="dns", le="0.05") == 1
    assert value(samples, "portal_check_duration_seconds_bucket", check="relay_b", le="+Inf") == 1
    assert value(samples, "portal_check_duration_seconds_count", check="relay_b") == 1
    assert value(samples, "portal_check_duration_seconds_sum", check="relay") == pytest.approx(0.7)


@pytest.mark.django_db(transaction=True)
def test_outbox_failures_and_reconciliation(client, account, settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}, "edge": {"backend": "simulated"}}
    with time_machine.travel(NOW - timedelta(seconds=90), tick=False):
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    EgressChange.objects.filter(target="edge").update(attempts=3, last_error="timed out")
    with time_machine.travel(NOW, tick=False):
        samples = scrape(client)
    for target in ("default", "edge"):
        assert value(samples, "portal_egress_outbox_pending", target=target) == 1
        assert value(samples, "portal_egress_outbox_oldest_age_seconds", target=target) == 90
        assert value(samples, "portal_egress_last_reconcile_timestamp_seconds", target=target) == 0
    assert value(samples, "portal_egress_apply_failures_total", target="edge") == 3
    assert value(samples, "portal_egress_apply_failures_total", target="default") == 0

    with time_machine.travel(NOW, tick=False):
        reconcile("default")  # allows both addresses the database says: drift repaired, row settled
    EgressChange.objects.filter(target="edge").update(status=ChangeStatus.FAILED)
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        samples = scrape(client)
    assert value(samples, "portal_egress_outbox_pending", target="default") == 0
    assert value(samples, "portal_egress_outbox_oldest_age_seconds", target="default") == 0
    assert value(samples, "portal_egress_outbox_failed", target="edge") == 1
    assert value(samples, "portal_egress_last_reconcile_timestamp_seconds", target="default") == NOW.timestamp()
    assert value(samples, "portal_egress_drift_repaired_total", target="default") == 2
    assert EgressTarget.objects.get(name="default").repaired_total == 2
    with time_machine.travel(NOW + timedelta(seconds=6), tick=False):
        reconcile("default")  # nothing drifted: the total stays
    assert value(scrape(client), "portal_egress_drift_repaired_total", target="default") == 2


def _report(account, *, at, channel=Channel.JSON, deliveries=1, n=0) -> AbuseReport:
    return AbuseReport.objects.create(
        channel=channel,
        fingerprint=f"fp-{channel}-{n}-{at.timestamp()}",
        category=Category.SPAMTRAP,
        source_ip="198.51.100.7",
        occurred_at=at,
        received_at=at,
        raw=b"{}",
        account=account,
        matched_at=at,
        deliveries=deliveries,
    )


@pytest.mark.django_db
def test_abuse_reports_revocations_and_time_to_revoke(client, account):
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    early, tipping = NOW - timedelta(minutes=5), NOW - timedelta(seconds=3)
    reports = [_report(account, at=early, n=1), _report(account, at=tipping, n=2, deliveries=3)]
    _report(account, at=early, channel=Channel.ARF, n=3)
    RejectedReport.objects.create(channel=Channel.ARF, reason="no Source-IP", size=10, raw=b"x")
    AbuseReport.objects.create(
        channel=Channel.JSON, fingerprint="waiting", category=Category.SPAM, source_ip="198.51.100.7",
        occurred_at=NOW, raw=b"{}",
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        revoke(account, reports, "spam-trap hit")
        samples = scrape(client)
    assert value(samples, "portal_abuse_reports_total", source="json", status="accepted") == 3
    assert value(samples, "portal_abuse_reports_total", source="json", status="duplicate") == 2
    assert value(samples, "portal_abuse_reports_total", source="arf", status="accepted") == 1
    assert value(samples, "portal_abuse_reports_total", source="arf", status="rejected") == 1
    assert value(samples, "portal_abuse_reports_waiting") == 1
    assert value(samples, "portal_revocations_total", source="abuse") == 1
    # From the report that tipped the policy (3 s before), not the first one.
    assert value(samples, "portal_abuse_time_to_revoke_seconds_count") == 1
    assert value(samples, "portal_abuse_time_to_revoke_seconds_sum") == 3
    assert value(samples, "portal_abuse_time_to_revoke_seconds_bucket", le="2.0") == 0
    assert value(samples, "portal_abuse_time_to_revoke_seconds_bucket", le="5.0") == 1


@missing(need_redis())
@pytest.mark.django_db
def test_celery_queue_lengths_and_broker_state(client, settings):
    settings.CELERY_BROKER_URL = redis_url(5)
    broker = redis.Redis.from_url(redis_url(5))
    broker.flushdb()
    try:
        broker.lpush("celery", b"m1", b"m2")
        broker.lpush("celery\x06\x166", b"m3")  # a message of a higher priority step
        settings.PORTAL_METRICS_INSPECT_TIMEOUT = 0.2
        samples = scrape(client)
    finally:
        broker.flushdb()
    assert value(samples, "portal_broker_up") == 1
    assert value(samples, "portal_celery_queue_length", queue="celery") == 3
    assert value(samples, "portal_celery_queue_length", queue="egress") == 0
    assert value(samples, "portal_celery_queue_consumers", queue="egress") == 0

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nobody listens
    samples = scrape(client)
    assert value(samples, "portal_broker_up") == 0
    assert not any(name == "portal_celery_queue_length" for name, _labels in samples)


@pytest.mark.django_db
def test_traffic_collection_over_rate_events_and_temporary_blocks(client, account, other_customer, settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}, "edge": {"backend": "simulated"}}
    EgressTarget.objects.create(name="default", traffic_read_at=NOW - timedelta(seconds=20))
    for minutes in (5, 50, 70):  # the last one over an hour ago
        TrafficEvent.objects.create(
            target="default", ip="198.51.100.7", account=account, observed_at=NOW - timedelta(minutes=minutes)
        )
    AccountEgress.objects.update_or_create(
        account=account,
        defaults={"desired": EgressState.BLOCKED, "source": EgressSource.TRAFFIC, "until": NOW + timedelta(hours=1)},
    )
    AccountEgress.objects.update_or_create(  # a temporary block that has ended
        account=other_customer.membership.account,
        defaults={"desired": EgressState.BLOCKED, "source": EgressSource.TRAFFIC, "until": NOW - timedelta(hours=1)},
    )
    with time_machine.travel(NOW, tick=False):
        samples = scrape(client)
    assert (
        value(samples, "portal_traffic_last_collection_timestamp_seconds", target="default")
        == (NOW - timedelta(seconds=20)).timestamp()
    )
    assert value(samples, "portal_traffic_last_collection_timestamp_seconds", target="edge") == 0
    assert value(samples, "portal_traffic_over_rate_events_last_hour", target="default") == 2
    assert value(samples, "portal_traffic_blocks_active") == 1


@pytest.mark.django_db
def test_on_the_embedded_file_broker_the_broker_is_up_and_queue_series_are_left_out(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "control_folder": str(tmp_path / "control"),
    }
    samples = scrape(client)
    assert value(samples, "portal_broker_up") == 1
    assert not any(name.startswith("portal_celery_") for name, _labels in samples)


@pytest.mark.django_db
def test_behind_the_proxy_a_relayed_call_is_from_outside_even_when_the_proxy_is_on_loopback(client, settings):
    settings.BEHIND_PROXY = True
    settings.PORTAL_METRICS_TOKEN = "scrape-token-7f3a"
    relayed = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client.get("/metrics", **relayed).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-7f3a", **relayed).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200  # Prometheus beside it, direct
