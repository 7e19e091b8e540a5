"""Benchmark: abuse-report intake next to a bare Django JSON view, and the time from a tipping report to the firewall.

Starts everything it measures on loopback, in a temporary folder it removes: a throw-away PostgreSQL
and Redis (the broker and the cache), gunicorn (sync workers) serving the portal plus two views of
its own through the same middleware, and Celery workers as docker-compose.yml runs them (one for the
`celery` queue, one for the firewall's `egress` queue). The firewall is egress's `simulated` backend
(a table), so "the firewall no longer allows the account" is the moment its addresses leave that
table. CPU is shown per service while each view ran: all of it shares the machine's cores.

(a) intake: the burst of reports posted one per request (`--concurrency` clients, one connection per
    request, as gunicorn's sync workers answer), next to the same bodies posted to a bare JSON view,
    and to a view that does what the intake does before storing (token, throttle, validation: what
    storing and weighing the report cost is the difference); then the same number again in batches
    (`--batch` per request), as a high-volume reporter sends.
(b) time to revoke: for each account the burst tips (a spam-trap report, or its 5th complaint), from
    the moment the tipping report's answer arrived to the moment its addresses left the firewall
    (polled every 5 ms), and by the database's clock its stages: stored -> matched by the worker ->
    revocation decided -> firewall change applied. The reports are shuffled: tipping accounts,
    warned accounts, and others.

    .venv/bin/python bench/revoke.py [--reports 1000] [--concurrency 16] [--web-workers 5] [--celery-workers 2]
"""

import argparse
import asyncio
import functools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from revoke_stack import ROOT, Services, cpu_seconds, free_port, settle

REVOKE_AFTER = 5
ROUNDS = 5
VIEWS = {"bare": "/bench/bare/", "checked": "/bench/checked/", "intake": "/api/v1/abuse/reports/"}
BENCH_SETTINGS = """from portal.settings import *  # noqa: F403
ROOT_URLCONF = "bench_revoke_urls"
"""
BENCH_URLS = """import json
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.response import Response

from abuse.api import ReportSerializer
from abuse.auth import IsReporter, ReporterRateThrottle, ReporterTokenAuthentication

@csrf_exempt
def bare(request):
    return JsonResponse({"status": "ok", "keys": sorted(json.loads(request.body))}, status=201)

@api_view(["POST"])
@authentication_classes([ReporterTokenAuthentication])
@permission_classes([IsReporter])
@throttle_classes([ReporterRateThrottle])
def checked(request):
    serializer = ReportSerializer(data=json.loads(request.body))
    serializer.is_valid(raise_exception=True)
    serializer.report()
    return Response({"status": "checked"}, status=202)

urlpatterns = [path("bench/bare/", bare), path("bench/checked/", checked), path("", include("portal.urls"))]
"""


def setup_django(env: dict) -> None:
    os.environ.update(env)
    sys.path[:0] = [env["PYTHONPATH"].split(os.pathsep)[0], str(ROOT)]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_inventory(accounts: int) -> tuple[list[str], str]:
    """Allowed accounts, each one server with one address held for a month, allowed on the firewall."""
    from django.utils import timezone

    from abuse.models import Reporter, ReporterToken
    from accounts.models import Account, Server, ServerAddress
    from egress.models import AccountEgress, EgressSource, EgressState, SimulatedAllowance

    # Public addresses (11.0.0.0/8): reports about private ones are kept but never matched.
    ips = [f"11.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(1, accounts + 1)]
    Account.objects.bulk_create(Account(name=f"bench {i}") for i in range(accounts))
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    AccountEgress.objects.bulk_create(
        AccountEgress(account_id=pk, desired=EgressState.ALLOWED, source=EgressSource.REQUEST) for pk in ids
    )
    Server.objects.bulk_create(Server(account_id=pk, external_id=f"vm-{pk}", hostname=f"vm-{pk}.test") for pk in ids)
    servers = Server.objects.order_by("account_id").values_list("pk", flat=True)
    month_ago = timezone.now() - timedelta(days=30)
    ServerAddress.objects.bulk_create(
        ServerAddress(server_id=s, ip=ip, assigned_at=month_ago) for s, ip in zip(servers, ips, strict=True)
    )
    SimulatedAllowance.objects.bulk_create(SimulatedAllowance(target="default", ip=ip) for ip in ips)
    token = ReporterToken.issue(reporter=Reporter.objects.create(name="bench"), name="bench")[1]
    return ips, token


def burst(ips: list[str], reports: int, seed: int) -> tuple[list[dict], set[str]]:
    """`reports` shuffled reports. Of every 10 addresses, one gets a spam-trap hit and one 5 complaints
    (both tip the policy), eight get 2 complaints (a warning); each report is about another message."""
    from django.utils import timezone

    now, bodies, tipped = timezone.now().isoformat(), [], set()
    for i, ip in enumerate(ips):
        plan = ["spamtrap"] if i % 10 == 0 else ["spam"] * (REVOKE_AFTER if i % 10 == 1 else 2)
        plan = plan[: reports - len(bodies)]
        if not plan:
            break
        if i % 10 < 2 and len(plan) in (1, REVOKE_AFTER):
            tipped.add(ip)
        for category in plan:
            n = len(bodies)
            bodies.append(
                {"source_ip": ip, "category": category, "time": now, "reference": f"r{n}", "message_id": f"<{n}@m>"}
            )
    random.Random(seed).shuffle(bodies)  # noqa: S311 - an order, not a secret
    return bodies, tipped


async def post(port: int, path: str, body: bytes, token: str) -> tuple[int, bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
    writer.write(head.encode() + body)
    await writer.drain()
    answer = await reader.read()
    done = time.monotonic()
    writer.close()
    return int(answer.split(b" ", 2)[1]), answer.partition(b"\r\n\r\n")[2], done


async def post_all(port: int, path: str, bodies: list[bytes], token: str, concurrency: int) -> list:
    gate = asyncio.Semaphore(concurrency)

    async def one(body: bytes):
        async with gate:
            return await post(port, path, body, token)

    return await asyncio.gather(*(one(body) for body in bodies))


def timed_posts(port: int, path: str, bodies: list[bytes], token: str, concurrency: int) -> tuple[float, list]:
    started = time.monotonic()
    answers = asyncio.run(post_all(port, path, bodies, token, concurrency))
    bad = [a for a in answers if a[0] not in (200, 201, 202)]
    if bad:
        sys.exit(f"bench/revoke.py: {len(bad)} failed requests to {path}, e.g. {bad[0][0]} {bad[0][1][:300]!r}")
    return time.monotonic() - started, answers


class FirewallWatch(threading.Thread):
    """Polls the simulated firewall; notes when each watched address stops being allowed."""

    def __init__(self, ips: set[str]) -> None:
        super().__init__(daemon=True)
        self.waiting, self.closed_at, self.stop = set(ips), {}, threading.Event()

    def run(self) -> None:
        from django.db import connection

        from egress.models import SimulatedAllowance

        while self.waiting and not self.stop.is_set():
            allowed = set(SimulatedAllowance.objects.filter(ip__in=self.waiting).values_list("ip", flat=True))
            now = time.monotonic()
            for ip in self.waiting - allowed:
                self.closed_at[ip] = now
            self.waiting &= allowed
            time.sleep(0.005)
        connection.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16, help="clients posting at once")
    parser.add_argument("--web-workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument("--celery-workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--batch", type=int, default=50, help="reports per batch request in the batch run")
    parser.add_argument("--seed", type=int, default=25)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-revoke-"))
    services = Services(folder)
    try:
        run(options, folder, services)
    finally:
        services.stop()
        shutil.rmtree(folder, ignore_errors=True)


def run(options: argparse.Namespace, folder: Path, services: Services) -> None:
    env = environment(folder, services)
    setup_django(env)
    ips, token = make_inventory(options.reports)
    bodies, tipped = burst(ips, options.reports, options.seed)
    port = free_port()
    services.start_gunicorn(port, options.web_workers, env)
    services.start_celery(options.celery_workers, env)
    print(
        f"{options.reports} reports about {len({b['source_ip'] for b in bodies})} accounts, {len(tipped)} tipped; "
        f"{options.concurrency} clients; gunicorn {options.web_workers} sync workers; "
        f"Celery {options.celery_workers} processes and 1 for the firewall's queue; PostgreSQL and Redis on loopback; "
        f"{os.cpu_count()} CPUs"
    )
    raw = [json.dumps(body).encode() for body in bodies]
    warm = [
        json.dumps({**body, "source_ip": "192.0.2.1", "reference": f"w{i}"}).encode()
        for i, body in enumerate(bodies[:100])
    ]
    timed_posts(port, "/bench/bare/", raw[:200], token, options.concurrency)
    timed_posts(port, "/api/v1/abuse/reports/", warm, token, options.concurrency)

    post = functools.partial(timed_posts, port, token=token, concurrency=options.concurrency)
    watch = FirewallWatch(tipped)
    seconds, cpu, answers = take_turns(post, raw, services, watch)
    latencies = times_to_revoke(bodies, answers, watch, tipped)
    later = [{**body, "reference": f"b{i}", "message_id": f"<b{i}@m>"} for i, body in enumerate(bodies)]
    batches = [
        json.dumps({"reports": later[i : i + options.batch]}).encode() for i in range(0, len(later), options.batch)
    ]
    batch_s, _ = post("/api/v1/abuse/reports/batch/", batches)

    rate = {view: options.reports / seconds[view] for view in VIEWS}
    per = 1000 / options.reports
    print(f"bare Django JSON view:          {rate['bare']:8.0f} requests/s ({seconds['bare']:.2f} s; "
          f"{cpu['bare']['gunicorn'] * per:.1f} ms CPU per request in gunicorn)")  # fmt: skip
    print(f"abuse intake, 1 per request:    {rate['intake']:8.0f} reports/s  ({seconds['intake']:.2f} s; "
          f"{cpu['intake']['gunicorn'] * per:.1f} ms CPU per report in gunicorn)   ratio to bare "
          f"{rate['intake'] / rate['bare']:.2f} (floor 0.15)")  # fmt: skip
    print(f"  the same, checked, not stored: {rate['checked']:7.0f} reports/s  (token, throttle, validation; ratio "
          f"to bare {rate['checked'] / rate['bare']:.2f})")  # fmt: skip
    figures = [f"{name} " + " / ".join(f"{cpu[view][name] * per:.1f}" for view in cpu) for name in cpu["bare"]]
    print("CPU ms per request while the bare view / the checks / the intake ran / the workers finished after it: "
          + ", ".join(figures))  # fmt: skip
    batch_rate = options.reports / batch_s
    print(f"abuse intake, {options.batch} per request:   {batch_rate:8.0f} reports/s  ({batch_s:.2f} s)   "
          f"ratio to bare {batch_rate / rate['bare']:.2f} (floor 0.7)")  # fmt: skip
    print(f"revoked on the firewall: {len(latencies)} of {len(tipped)} tipped accounts")
    if latencies:
        print(f"time to revoke: p50 {percentile(latencies, 50):.3f} s, p99 {percentile(latencies, 99):.3f} s, "
              f"max {max(latencies):.3f} s, mean {statistics.mean(latencies):.3f} s (floor: p99 < 1 s)")  # fmt: skip
        stages = revocation_stages().items()
        print("  of which " + "; ".join(f"{stage} p50 {percentile(times, 50):.3f} s, p99 {percentile(times, 99):.3f} s"
                                        for stage, times in stages))  # fmt: skip


def environment(folder: Path, services: Services) -> dict:
    """The portal's settings for this run: its own PostgreSQL and Redis, the simulated firewall, the bench's views."""
    (folder / "mods").mkdir()
    (folder / "mods" / "bench_revoke_settings.py").write_text(BENCH_SETTINGS)
    (folder / "mods" / "bench_revoke_urls.py").write_text(BENCH_URLS)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder / "mods"), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bench_revoke_settings",
        "DATABASE_URL": services.start_postgres(),
        "PORTAL_BROKER_URL": (redis := services.start_redis()),
        "PORTAL_CACHE_URL": redis.removesuffix("/0") + "/1",
        "PORTAL_SECRET_KEY": "bench-not-secret",
        "PORTAL_ALLOWED_HOSTS": "127.0.0.1",
        "PORTAL_SSL_REDIRECT": "false",
        "PORTAL_LOG_LEVEL": "WARNING",
        "PORTAL_EGRESS_TARGETS": json.dumps({"default": {"backend": "simulated"}}),
        "PORTAL_ABUSE_REVOKE_AFTER": str(REVOKE_AFTER),
        "PORTAL_ABUSE_API_RATE": "100000000/day",
        "EMAIL_URL": "dummymail://",
    }


def take_turns(post, raw: list[bytes], services: Services, watch: "FirewallWatch") -> tuple[Counter, dict, list]:
    """The views take turns, a fifth of the burst each, so that all see the same machine; each round
    starts with the workers idle. What the workers still do after an intake round (the warnings are
    paced) is measured apart: no view's round pays for another's. Returns each view's seconds, the
    CPU each service spent meanwhile, and the intake's answers in the order of `raw`."""
    seconds: Counter[str] = Counter()
    cpu: dict[str, Counter[str]] = {view: Counter() for view in [*VIEWS, "after intake"]}
    answers: list = []
    settle(services.pids)
    watch.start()
    for part in range(ROUNDS):
        chunk = raw[part * len(raw) // ROUNDS : (part + 1) * len(raw) // ROUNDS]
        for view, path in VIEWS.items():
            before = cpu_seconds(services.pids)
            took, chunk_answers = post(path, chunk)
            after = cpu_seconds(services.pids)
            settle(services.pids)
            settled = cpu_seconds(services.pids)
            seconds[view] += took
            cpu[view].update({name: after[name] - before[name] for name in before})
            if view == "intake":
                answers += chunk_answers
                cpu["after intake"].update({name: settled[name] - after[name] for name in before})
    watch.join(60)
    watch.stop.set()
    return seconds, cpu, answers


def times_to_revoke(bodies: list[dict], answers: list, watch: "FirewallWatch", tipped: set[str]) -> list[float]:
    """For each tipped account its addresses left the firewall, seconds after the tipping report's answer."""
    accepted: dict[str, list[float]] = {}
    for body, (_status, _answer, done) in zip(bodies, answers, strict=True):
        accepted.setdefault(body["source_ip"], []).append(done)
    latencies = []
    for ip in tipped & watch.closed_at.keys():
        times = sorted(accepted[ip])  # the tipping report: the spam-trap hit, or the 5th complaint
        latencies.append(watch.closed_at[ip] - times[min(len(times), REVOKE_AFTER) - 1])
    return latencies


def revocation_stages() -> dict[str, list[float]]:
    """Per revocation, by the database's clock: the tipping report stored -> matched by the worker ->
    revocation decided -> the firewall change applied."""
    from abuse.models import AbuseReport, Revocation
    from egress.models import EgressChange

    stages: dict[str, list[float]] = {"stored to matched": [], "matched to decided": [], "decided to applied": []}
    for revocation in Revocation.objects.select_related("decision"):
        decided = revocation.decision.decided_at
        tipping = AbuseReport.objects.filter(decisions=revocation.decision).order_by("-received_at").first()
        applied = (
            EgressChange.objects.filter(account_id=revocation.account_id, applied_at__gte=decided)
            .order_by("applied_at")
            .values_list("applied_at", flat=True)
            .first()
        )
        stages["stored to matched"].append((tipping.matched_at - tipping.received_at).total_seconds())
        stages["matched to decided"].append((decided - tipping.matched_at).total_seconds())
        if applied:
            stages["decided to applied"].append((applied - decided).total_seconds())
    return stages


if __name__ == "__main__":
    main()
