"""Benchmark: what one /metrics scrape costs as the tables grow (its series are read from the database).

A PostgreSQL cluster of its own (tests/harnesses/live_services.py), migrated; then rounds of rows added in bulk
(check results, request events, outbox rows, egress decisions, abuse reports and revocations) and,
after each round, the median time of the collector's queries (the broadcast to the workers is left
out: it waits PORTAL_METRICS_INSPECT_TIMEOUT whatever the data). The ratio is against the same
scrape of the empty database, measured in the same run.

    .venv/bin/python bench/metrics_scrape.py [--rows 1000,10000,100000] [--repeat 5]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harnesses.live_services import Postgres  # noqa: E402  (needs no Django)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000,10000,100000", help="check results (and events, reports...) per round")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    folder.chmod(0o755)  # the postgres OS user (when run as root) must reach its folder inside
    postgres = Postgres(folder).start()
    try:
        with postgres.admin() as conn:
            conn.execute("CREATE DATABASE bench OWNER portal")
        os.environ.update(
            DJANGO_SETTINGS_MODULE="portal.settings",
            PORTAL_SECRET_KEY=os.environ.get("PORTAL_SECRET_KEY", "bench-only-secret"),
            DATABASE_URL=postgres.url("bench"),
            PORTAL_BROKER_URL="memory://",
            PORTAL_LOG_LEVEL="WARNING",
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run(args)
    finally:
        postgres.stop()


def scrape_seconds(repeat: int) -> float:
    from operations import broker
    from operations.metrics import PortalCollector

    broker.consumers_per_queue = lambda: None  # the broadcast waits its timeout whatever the tables hold
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        families = list(PortalCollector().collect())
        times.append(time.perf_counter() - start)
    assert families
    return statistics.median(times)


def sections() -> str:
    """Milliseconds of each part of the collector, once."""
    from django.utils import timezone

    from operations.metrics import PortalCollector

    collector, now, parts = PortalCollector(), timezone.now(), []
    for name in ("_requests", "_checks", "_egress", "_traffic", "_abuse"):
        method = getattr(collector, name)
        start = time.perf_counter()
        list(method(now) if name in ("_requests", "_egress", "_traffic") else method())
        parts.append(f"{name[1:]} {(time.perf_counter() - start) * 1000:.0f}")
    return ", ".join(parts)


def run(args) -> None:
    scrape_seconds(1)  # warm-up: imports, the database connection
    base = scrape_seconds(args.repeat)
    print(f"empty database: {base * 1000:.1f} ms per scrape")
    print(f"{'rows':>9} {'ms/scrape':>10} {'ratio':>7}   ms per part")
    added = 0
    for rows in (int(n) for n in args.rows.split(",")):
        fill(rows - added)
        added = rows
        seconds = scrape_seconds(args.repeat)
        print(f"{rows:>9} {seconds * 1000:>10.1f} {seconds / base:>7.1f}   {sections()}")


def fill(n: int) -> None:
    """n check results, request events, outbox rows, egress decisions and abuse reports; n/10 requests
    and n/100 revocations (each with its decision and report). Through the ORM, so every column the
    apps add gets its default."""
    from datetime import timedelta

    from django.utils import timezone

    from abuse.models import AbuseReport, PolicyDecision, Revocation, RevocationState
    from accounts.services import register_customer
    from egress.models import EgressChange, EgressDecision
    from requests_app.models import RequestEvent, UnblockRequest
    from tests.conftest import answers
    from verification.models import CheckResult, CheckRun

    user = register_customer(f"bench-{time.monotonic_ns()}@bench.test", None, "Bench")
    account, now, batch = user.membership.account, timezone.now(), 5000
    fields = {f.name for f in UnblockRequest._meta.concrete_fields}
    answered = {key: value for key, value in answers().items() if key in fields}
    requests = UnblockRequest.objects.bulk_create(
        (UnblockRequest(account=account, created_by=user, status=("approved", "rejected")[i % 2],
                        auto_decided=i % 3 == 0, aup_accepted_at=now, **answered)
         for i in range(max(n // 10, 1))), batch_size=batch)  # fmt: skip
    RequestEvent.objects.bulk_create(
        (RequestEvent(request=r, actor=None if r.auto_decided else user, from_status="awaiting_review",
                      to_status=r.status) for r in requests for _ in range(10)), batch_size=batch)  # fmt: skip
    runs = CheckRun.objects.bulk_create(
        (CheckRun(subject=f"bench:{r.pk}", account=account, trigger="submitted", finished_at=now) for r in requests),
        batch_size=batch,
    )
    CheckResult.objects.bulk_create(
        (CheckResult(run=run, check_name=f"check_{c}", position=c, status=("pass", "warn", "fail", "error")[c % 4],
                     duration_ms=(c * 137) % 20000, finished_at=now) for run in runs for c in range(10)),
        batch_size=batch)  # fmt: skip
    EgressChange.objects.bulk_create(
        (EgressChange(target="default", account=account, status="applied", attempts=i % 3) for i in range(n)),
        batch_size=batch,
    )
    EgressDecision.objects.bulk_create(
        (EgressDecision(account=account, from_state="allowed", to_state="blocked", source=("abuse", "staff")[i % 2])
         for i in range(n)), batch_size=batch)  # fmt: skip
    reports = AbuseReport.objects.bulk_create(
        (AbuseReport(channel="json", fingerprint=f"{time.monotonic_ns()}-{i}", category="spam",
                     source_ip="198.51.100.7", occurred_at=now, received_at=now - timedelta(seconds=3), raw=b"x",
                     account=account, matched_at=now, deliveries=1 + i % 2) for i in range(n)),
        batch_size=batch)  # fmt: skip
    decided = [(account, "revoke", "bench", [reports[i]]) for i in range(max(n // 100, 1))]
    Revocation.objects.bulk_create(
        (Revocation(account=account, decision=decision, ordinal=decision.pk, reason="bench",
                    state=RevocationState.REINSTATED) for decision in PolicyDecision.objects.record_many(decided)),
        batch_size=batch)  # fmt: skip


if __name__ == "__main__":
    main()
