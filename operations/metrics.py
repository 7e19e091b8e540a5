"""The operator's series for Prometheus, read from the database (and the broker) at scrape time.

Every value is derived from rows the apps keep anyway, when Prometheus asks, rather than counted in
process memory: so the numbers are the same whichever gunicorn worker answers the scrape, and what
happens in Celery workers (checks, firewall applies, revocations) is seen without an exporter in
each worker or prometheus_client's multiprocess files. Counters come from append-only or
monotonic columns (events, decisions, attempts, cumulative totals), so they only grow.

The series names are a contract with the alert rules in deploy/prometheus/ and docs/operator.md.
This is the project package (the composition root): it reads every app's models, and no app imports it.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from abuse.models import AbuseReport, RejectedReport, Revocation
from abuse.selectors import revocations_by_cause
from egress.models import (
    AccountEgress,
    ChangeStatus,
    EgressChange,
    EgressSource,
    EgressState,
    EgressTarget,
    TrafficEvent,
)
from egress.selectors import allowed_addresses
from egress.target_status import FAILING, target_status
from egress.targets import target_names
from operations import broker
from requests_app.models import RequestEvent, Status, UnblockRequest
from requests_app.selectors import oldest_awaiting_review
from verification.models import UNDECIDED, CheckResult, FindingKind, RecheckFinding, WatchedAddress, ZoneStatus

CHECK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
REVOKE_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since else 0.0


def _buckets(bounds: tuple[float, ...], cumulative: list[int], total: int) -> list[tuple[str, int]]:
    return [*((str(bound), count) for bound, count in zip(bounds, cumulative, strict=True)), ("+Inf", total)]


def _one_snapshot() -> None:
    """Every query of the scrape sees the same committed state (PostgreSQL: one repeatable-read,
    read-only transaction), so that e.g. a revocation and its outbox rows are never half seen."""
    if connection.vendor == "postgresql" and connection.get_autocommit() is False and not connection.savepoint_ids:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


class PortalCollector(Collector):
    """One scrape: a few grouped queries per app, and one round trip to the broker."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        with transaction.atomic():
            _one_snapshot()
            families = [
                *self._requests(now),
                *self._checks(),
                *self._egress(now),
                *self._traffic(now),
                *self._abuse(),
                *self._rechecks(now),
            ]
        yield from families
        yield from self._celery()

    # --- unblock requests and their review ---------------------------------------------------

    def _requests(self, now: datetime) -> Iterator[Metric]:
        by_status = dict(UnblockRequest.objects.values_list("status").annotate(n=Count("id")).order_by())
        requests = GaugeMetricFamily("portal_unblock_requests", "Unblock requests by status.", labels=["status"])
        for status in Status.values:
            requests.add_metric([status], by_status.get(status, 0))
        yield requests

        yield GaugeMetricFamily(
            "portal_review_queue_oldest_age_seconds",
            "How long the oldest request awaiting review has waited (0 when the queue is empty).",
            value=_age(now, oldest_awaiting_review()),
        )

        # A decision is a transition into approved or rejected; the policy's have no actor.
        decided = (
            RequestEvent.objects.filter(
                kind=RequestEvent.Kind.TRANSITION, to_status__in=[Status.APPROVED, Status.REJECTED]
            )
            .annotate(auto=ExpressionWrapper(Q(actor__isnull=True), output_field=BooleanField()))
            .values_list("to_status", "auto")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts = {(to, auto): n for to, auto, n in decided}
        decisions = CounterMetricFamily(
            "portal_review_decisions",
            "Decisions on unblock requests, by people or the policy.",
            labels=["decision", "auto"],
        )
        for to in (Status.APPROVED, Status.REJECTED):
            for auto in (False, True):
                decisions.add_metric([to, str(auto).lower()], counts.get((to, auto), 0))
        yield decisions

    # --- the automated checks -----------------------------------------------------------------

    def _checks(self) -> Iterator[Metric]:
        results = CounterMetricFamily(
            "portal_check_results", "Finished check results by check and status.", labels=["check", "status"]
        )
        finished = CheckResult.objects.exclude(status__in=UNDECIDED)
        for check, status, n in finished.values_list("check_name", "status").annotate(n=Count("id")).order_by():
            results.add_metric([check, status], n)
        yield results

        bounds = {f"le{i}": Count("id", filter=Q(duration_ms__lte=b * 1000)) for i, b in enumerate(CHECK_BUCKETS)}
        rows = (
            finished.filter(duration_ms__isnull=False)
            .values("check_name")
            .annotate(total=Count("id"), ms=Sum("duration_ms"), **bounds)
            .order_by()
        )
        duration = HistogramMetricFamily("portal_check_duration_seconds", "How long each check took.", labels=["check"])
        for row in rows:
            cumulative = [row[f"le{i}"] for i in range(len(CHECK_BUCKETS))]
            duration.add_metric(
                [row["check_name"]], _buckets(CHECK_BUCKETS, cumulative, row["total"]), row["ms"] / 1000
            )
        yield duration

    # --- egress: the outbox, reconciliation --------------------------------------------------------

    def _target_states(self, targets: list[str], now: datetime) -> Iterator[Metric]:
        """Each target (a gateway of a fleet) as staff see it: addresses desired and applied, failing."""
        addresses = GaugeMetricFamily(
            "portal_egress_target_addresses",
            "Addresses the database allows (desired) and those no open change of the target owes (applied).",
            labels=["target", "kind"],
        )
        failing = GaugeMetricFamily(
            "portal_egress_target_failing",
            "1 when the target's last apply or reconciliation failed (its changes wait for it).",
            labels=["target"],
        )
        desired = len(allowed_addresses())
        for name in targets:
            status = target_status(name, desired, now=now)
            addresses.add_metric([name, "desired"], status.desired)
            addresses.add_metric([name, "applied"], status.applied)
            failing.add_metric([name], 1 if status.state == FAILING else 0)
        yield from (addresses, failing)

    def _egress(self, now: datetime) -> Iterator[Metric]:
        outbox = {
            row["target"]: row
            for row in EgressChange.objects.values("target")
            .annotate(
                pending=Count("id", filter=Q(status=ChangeStatus.PENDING)),
                failed=Count("id", filter=Q(status=ChangeStatus.FAILED)),
                oldest=Min("created_at", filter=Q(status=ChangeStatus.PENDING)),
                failures=Sum("attempts"),
            )
            .order_by()
        }
        known = {row.name: row for row in EgressTarget.objects.all()}
        targets = sorted(set(target_names()) | set(outbox) | set(known))

        def family(kind, name: str, doc: str):
            return kind(name, doc, labels=["target"])

        pending = family(GaugeMetricFamily, "portal_egress_outbox_pending", "Outbox rows the target still owes.")
        given_up = family(
            GaugeMetricFamily, "portal_egress_outbox_failed", "Outbox rows given up after their last attempt."
        )
        oldest = family(
            GaugeMetricFamily,
            "portal_egress_outbox_oldest_age_seconds",
            "Age of the target's oldest pending outbox row (0 when none).",
        )
        failures = family(CounterMetricFamily, "portal_egress_apply_failures", "Failed attempts to apply outbox rows.")
        reconciled = family(
            GaugeMetricFamily,
            "portal_egress_last_reconcile_timestamp_seconds",
            "Unix time of the target's last successful reconciliation (0: never).",
        )
        reconcile_error = family(
            GaugeMetricFamily, "portal_egress_reconcile_error", "1 when the target's last reconciliation failed."
        )
        repaired = family(
            CounterMetricFamily, "portal_egress_drift_repaired", "Addresses reconciliations allowed or removed."
        )
        for name in targets:
            row, target = outbox.get(name, {}), known.get(name)
            pending.add_metric([name], row.get("pending", 0))
            given_up.add_metric([name], row.get("failed", 0))
            oldest.add_metric([name], _age(now, row.get("oldest")))
            failures.add_metric([name], row.get("failures") or 0)
            at = target.reconciled_at if target else None
            reconciled.add_metric([name], at.timestamp() if at else 0.0)
            reconcile_error.add_metric([name], 1 if target and target.last_error else 0)
            repaired.add_metric([name], target.repaired_total if target else 0)
        yield from (pending, given_up, oldest, failures, reconciled, reconcile_error, repaired)
        yield from self._target_states(targets, now)

        # The review dashboard counts the same (abuse.selectors.revocations_by_cause).
        revocations = CounterMetricFamily(
            "portal_revocations",
            "Revocations of port 25, by what they were for: abuse reports, or traffic seen (abuse.Revocation).",
            labels=["source"],
        )
        for source, n in revocations_by_cause().items():
            revocations.add_metric([source], n)
        yield revocations

    # --- traffic telemetry ----------------------------------------------------------------------------

    def _traffic(self, now: datetime) -> Iterator[Metric]:
        collected = GaugeMetricFamily(
            "portal_traffic_last_collection_timestamp_seconds",
            "Unix time the target's tcp/25 counters were last read (0: never).",
            labels=["target"],
        )
        read_at = dict(EgressTarget.objects.values_list("name", "traffic_read_at"))
        for name in sorted(set(target_names()) | set(read_at)):
            at = read_at.get(name)
            collected.add_metric([name], at.timestamp() if at else 0.0)
        yield collected

        # A gauge over the last hour, not a counter: old events are pruned, and a counter must never fall.
        events = GaugeMetricFamily(
            "portal_traffic_over_rate_events_last_hour",
            "Sources a target saw over the kernel-side rate in the last hour.",
            labels=["target"],
        )
        recent = TrafficEvent.objects.filter(observed_at__gte=now - timedelta(hours=1))
        for target, n in recent.values_list("target").annotate(n=Count("id")).order_by():
            events.add_metric([target], n)
        yield events
        yield GaugeMetricFamily(
            "portal_traffic_blocks_active",
            "Accounts whose port 25 is closed for now by the traffic policy (a temporary block).",
            value=AccountEgress.objects.filter(
                source=EgressSource.TRAFFIC, desired=EgressState.BLOCKED, until__gt=now
            ).count(),
        )

    # --- abuse ---------------------------------------------------------------------------------------

    def _abuse(self) -> Iterator[Metric]:
        reports = CounterMetricFamily(
            "portal_abuse_reports",
            "Abuse reports by channel and outcome: accepted, duplicate (delivered again), rejected.",
            labels=["source", "status"],
        )
        accepted = AbuseReport.objects.values_list("channel").annotate(n=Count("id"), d=Sum("deliveries")).order_by()
        for channel, n, deliveries in accepted:
            reports.add_metric([channel, "accepted"], n)
            reports.add_metric([channel, "duplicate"], (deliveries or n) - n)
        for channel, n in RejectedReport.objects.values_list("channel").annotate(n=Count("id")).order_by():
            reports.add_metric([channel, "rejected"], n)
        yield reports
        yield GaugeMetricFamily(
            "portal_abuse_reports_waiting",
            "Accepted reports not yet matched and weighed by a worker.",
            value=AbuseReport.objects.waiting().count(),
        )

        # From the newest report behind the decision (the one that tipped it) to the revocation.
        spans = Revocation.objects.annotate(last_report=Max("decision__reports__received_at")).values_list(
            "revoked_at", "last_report"
        )
        seconds = [_age(revoked, last) for revoked, last in spans if last is not None]
        cumulative = [sum(1 for s in seconds if s <= bound) for bound in REVOKE_BUCKETS]
        yield HistogramMetricFamily(
            "portal_abuse_time_to_revoke_seconds",
            "From the abuse report that tipped the policy to the revocation.",
            buckets=_buckets(REVOKE_BUCKETS, cumulative, len(seconds)),
            sum_value=sum(seconds),
        )

    # --- re-checks of open accounts ---------------------------------------------------------------------

    def _rechecks(self, now: datetime) -> Iterator[Metric]:
        current = RecheckFinding.objects.current().order_by()
        listed = GaugeMetricFamily(
            "portal_recheck_listed_addresses", "Watched addresses listed on each blocklist zone now.", labels=["zone"]
        )
        by_zone = current.filter(kind=FindingKind.LISTED).values_list("source").annotate(n=Count("id"))
        for zone, n in by_zone:
            listed.add_metric([zone], n)
        yield listed
        findings = GaugeMetricFamily("portal_recheck_findings", "Re-check findings present now.", labels=["kind"])
        counts = dict(current.values_list("kind").annotate(n=Count("id")))
        for kind in FindingKind.values:
            findings.add_metric([kind], counts.get(kind, 0))
        yield findings
        watched = WatchedAddress.objects.order_by().aggregate(
            n=Count("id"), due=Count("id", filter=Q(due_at__lte=now)), done=Sum("checks", default=0)
        )
        yield GaugeMetricFamily("portal_recheck_watched", "Addresses on the re-check cycle.", value=watched["n"])
        yield GaugeMetricFamily("portal_recheck_due", "Watched addresses whose re-check is due.", value=watched["due"])
        yield CounterMetricFamily("portal_recheck_done", "Re-checks of watched addresses done.", value=watched["done"])
        aside = GaugeMetricFamily(
            "portal_recheck_zone_set_aside",
            "1 while a blocklist zone's answers are not trusted (its RFC 5782 test points failed).",
            labels=["zone"],
        )
        deferred = CounterMetricFamily(
            "portal_recheck_deferred",
            "Re-checks moved to the next day: the zone's daily budget was spent.",
            labels=["zone"],
        )
        queries = CounterMetricFamily("portal_recheck_queries", "Re-check queries made to each zone.", labels=["zone"])
        for zone in ZoneStatus.objects.all():
            aside.add_metric([zone.zone], int(not zone.usable))
            deferred.add_metric([zone.zone], zone.deferred)
            queries.add_metric([zone.zone], zone.queries)
        yield from (aside, deferred, queries)

    # --- Celery's broker ---------------------------------------------------------------------------------

    def _celery(self) -> Iterator[Metric]:
        reading = broker.read_broker()
        yield GaugeMetricFamily("portal_broker_up", "1 when the Celery broker answers.", value=int(reading.up))
        if reading.queue_lengths is not None:
            lengths = GaugeMetricFamily(
                "portal_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"]
            )
            for queue, n in reading.queue_lengths.items():
                lengths.add_metric([queue], n)
            yield lengths
        consumers = broker.consumers_per_queue() if reading.up else None
        if consumers is not None:
            family = GaugeMetricFamily(
                "portal_celery_queue_consumers",
                "Workers that answered saying they consume the queue.",
                labels=["queue"],
            )
            for queue, n in consumers.items():
                family.add_metric([queue], n)
            yield family
