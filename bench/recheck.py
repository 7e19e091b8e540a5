"""Benchmark: one full re-check cycle of N open addresses against 4 blocklist zones, run flat out.

The zones are served by the loopback dnslib server in a process of its own (so that its CPU is not
counted as the worker's), every answer delayed by a fixed latency as across a network; 1 % of the
addresses are listed on one zone. The cycle is what the beat's task does (verification.recheck:
watch, then re-check the due addresses a batch at a time, findings stored), with every address due
at once. Printed: the cycle's wall time, the worker's CPU time (this process: user + system) per
address, and the blocklist queries per address per zone against the minimum of one (test points
are asked once per zone and cached). Goals (issue 27): at most 1.1 queries per address per zone;
the full cycle's work for 100,000 addresses under 30 minutes of worker time on 2 cores.

    .venv/bin/python bench/recheck.py [--addresses N] [--latency S] [--batch N] [--reverse-dns]

The last line, for scripts:
    recheck: <n> addresses, <q> queries per address per zone, <m> min worker time
"""

import argparse
import ipaddress
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loopback_django import setup_django  # noqa: E402
from tests.dns_server import LoopbackDNS, ZoneResolver  # noqa: E402  (needs no Django)

ZONES = ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "psbl.surriel.com"]
FIRST = ipaddress.ip_address("10.0.0.0")  # a private range: the bench's addresses never leave loopback
PER_ACCOUNT = 50


class CountingResolver(ZoneResolver):
    """The zone, counting the questions asked about each blocklist zone."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = dict.fromkeys(ZONES, 0)

    def resolve(self, request, handler):
        name = str(request.q.qname).lower().rstrip(".")
        for zone in ZONES:
            if name.endswith(zone):
                self.asked[zone] += 1
        return super().resolve(request, handler)


def reverse(ip: str, zone: str) -> str:
    return ".".join(reversed(ip.split("."))) + f".{zone}."


def serve_dns(latency: float, listed: list[str], ready, done) -> None:
    """The blocklists' server, in its own process: test points, the listed addresses, then the counts."""
    server = LoopbackDNS()
    server.resolver = counting = CountingResolver()
    server.udp.server.resolver = server.tcp.server.resolver = counting
    counting.latency = latency
    lines = []
    for zone in ZONES:
        lines.append(f"{reverse('127.0.0.2', zone)} 60 IN A 127.0.0.2")
    lines += [f"{reverse(ip, ZONES[1])} 60 IN A 127.0.0.2" for ip in listed]
    counting.add("\n".join(lines))
    server.start()
    ready.send(server.nameserver)
    done.recv()
    ready.send(counting.asked)
    server.stop()


def addresses(n: int) -> list[str]:
    return [str(FIRST + i) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.005, help="seconds added to every DNS answer")
    parser.add_argument("--batch", type=int, default=1000, help="addresses per re-check (the beat's batch)")
    parser.add_argument("--threads", type=int, default=32, help="parallel look-ups (PORTAL_RECHECK_DNS_THREADS)")
    parser.add_argument("--reverse-dns", action="store_true", help="also look up each address's reverse name")
    args = parser.parse_args()

    ips = addresses(args.addresses)
    listed = ips[:: 100]
    ours, theirs = multiprocessing.Pipe()
    done_here, done_there = multiprocessing.Pipe()
    dns_process = multiprocessing.Process(target=serve_dns, args=(args.latency, listed, theirs, done_there))
    dns_process.start()
    nameserver = ours.recv()

    workdir = Path(tempfile.mkdtemp(prefix="bench-recheck-"))
    setup_django(
        workdir,
        nameserver,
        PORTAL_DNSBL_ZONES=",".join(ZONES),
        PORTAL_RECHECK_RELAY="false",
        PORTAL_RECHECK_REVERSE_DNS="true" if args.reverse_dns else "false",
        PORTAL_RECHECK_DNS_THREADS=str(args.threads),
        PORTAL_RECHECK_ZONE_RATE="*=0",
        PORTAL_RECHECK_ZONE_DAILY_BUDGET="*=10000000",
        PORTAL_DNS_TIMEOUT="5",
    )
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Account
    from verification import recheck
    from verification.models import RecheckFinding

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
    accounts = Account.objects.bulk_create(Account(name=f"bench {n}") for n in range(len(ips) // PER_ACCOUNT + 1))
    holders = {ip: (accounts[n // PER_ACCOUNT].pk, "") for n, ip in enumerate(ips)}

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    recheck.watch(holders)
    later = timezone.now() + timedelta(days=2)  # every address due at once: the cycle flat out
    checked = 0
    while batch := recheck.due(later, args.batch):
        recheck.recheck(batch, later)
        checked += len(batch)
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)

    done_here.send(True)
    asked = ours.recv()
    dns_process.join()
    findings = RecheckFinding.objects.current().count()
    queries = sum(asked.values()) / (len(ips) * len(ZONES))

    print(f"addresses re-checked     {checked:>12,}   (1 % listed on {ZONES[1]}: {findings:,} findings)")
    latency_ms = args.latency * 1000
    print(f"zones                    {len(ZONES):>12}   DNS latency {latency_ms:.0f} ms, {args.threads} threads")
    print(f"wall time of the cycle   {wall:>12.1f} s  ({checked / wall:,.0f} addresses/s)")
    print(f"worker CPU time          {cpu:>12.1f} s  ({cpu / checked * 1000:.2f} ms per address)")
    for zone, n in asked.items():
        print(f"queries to {zone:<24}{n:>9,}   ({n / len(ips):.3f} per address; minimum 1)")
    print(f"queries per address/zone {queries:>12.3f}   ratio to the minimum {queries:.3f} (goal <= 1.1)")
    print(f"recheck: {checked} addresses, {queries:.3f} queries per address per zone, {cpu / 60:.1f} min worker time")


if __name__ == "__main__":
    main()
