"""Benchmark: reconcile 100,000 accounts / 200,000 addresses against nftables in a network namespace.

Prints each reconciliation's time next to loading the same set with one plain `nft -f` file in the
same run, and their ratio (goal: under 2, and under 10 s). Needs root, nft and ip (iproute2). It makes
its own SQLite database in a temporary folder and its own namespace, and removes both.

    .venv/bin/python bench/reconcile.py [--accounts 100000] [--runs 3]
"""

import argparse
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = "port25"
PLAIN = "plain `nft -f` load of the set"
V4_BASE = int(ipaddress.IPv4Address("198.18.0.0"))  # benchmarking range, 131,072 addresses
V6_BASE = int(ipaddress.IPv6Address("2001:db8::"))


def setup_django(database: Path, netns: str) -> None:
    os.environ.update(
        DATABASE_URL=f"sqlite:///{database}",
        PORTAL_SECRET_KEY="bench-not-secret",  # noqa: S106 - a throw-away database
        PORTAL_LOG_LEVEL="ERROR",
        PORTAL_EGRESS_TARGETS=json.dumps({"bench": {"backend": "nftables", "netns": netns, "table": TABLE}}),
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_inventory(accounts: int) -> tuple[list[str], list[str]]:
    """`accounts` allowed accounts, each with one server holding one IPv4 and one IPv6 address."""
    from accounts.models import Account, Server, ServerAddress
    from egress.models import AccountEgress, EgressSource, EgressState

    v4 = [str(ipaddress.IPv4Address(V4_BASE + i)) for i in range(accounts)]
    v6 = [str(ipaddress.IPv6Address(V6_BASE + i)) for i in range(accounts)]
    Account.objects.bulk_create((Account(name=f"bench {i}") for i in range(accounts)), batch_size=5000)
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    AccountEgress.objects.bulk_create(
        (AccountEgress(account_id=pk, desired=EgressState.ALLOWED, source=EgressSource.REQUEST) for pk in ids),
        batch_size=5000,
    )
    Server.objects.bulk_create(
        (Server(account_id=pk, external_id=f"vm-{pk}", hostname=f"vm-{pk}.example.com") for pk in ids),
        batch_size=5000,
    )
    servers = list(Server.objects.order_by("account_id").values_list("pk", flat=True))
    ServerAddress.objects.bulk_create(
        (
            ServerAddress(server_id=pk, ip=ip)
            for pk, ips in zip(servers, zip(v4, v6, strict=True), strict=True)
            for ip in ips
        ),
        batch_size=5000,
    )
    return v4, v6


def nft(netns: str, *args: str, script: str | None = None) -> None:
    subprocess.run(["ip", "netns", "exec", netns, "nft", *args], input=script, text=True, check=True)


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="each figure is the median of this many runs")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/reconcile.py needs root (network namespaces and nftables).")

    netns = f"p25-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            run(options, netns, Path(folder))
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)


def run(options: argparse.Namespace, netns: str, folder: Path) -> None:
    started = time.perf_counter()
    setup_django(folder / "bench.sqlite3", netns)
    v4, v6 = make_inventory(options.accounts)
    print(
        f"inventory: {options.accounts:,} allowed accounts, {len(v4) + len(v6):,} addresses "
        f"({time.perf_counter() - started:.1f} s to build)"
    )

    from egress.adapters import Change
    from egress.reconcile import reconcile
    from egress.targets import adapter_for

    # The plain load: the same table, rules and elements, as one file, no database, no reading.
    plain = folder / "plain.nft"
    plain.write_text(adapter_for("bench").batch(Change(key="plain", allow=frozenset(v4 + v6))))

    def drop_table() -> None:
        nft(netns, "delete", "table", "inet", TABLE)

    def plain_load() -> float:
        drop_table()
        return timed(lambda: nft(netns, "-f", str(plain)))[0]

    def reconciled(expect_added: int, expect_removed: int) -> float:
        seconds, drift = timed(lambda: reconcile("bench"))
        assert not drift.error and (len(drift.added), len(drift.removed)) == (expect_added, expect_removed), drift
        return seconds

    def cold() -> float:
        drop_table()
        return reconciled(len(v4) + len(v6), 0)

    def drifted() -> float:
        lost, strays = v4[:1000], [str(ipaddress.IPv4Address(V4_BASE + options.accounts + i)) for i in range(1000)]
        script = (
            f"delete element inet {TABLE} allowed_v4 {{ {', '.join(lost)} }}\n"
            f"add element inet {TABLE} allowed_v4 {{ {', '.join(strays)} }}\n"
        )
        nft(netns, "-f", "-", script=script)
        return reconciled(1000, 1000)

    nft(netns, "add", "table", "inet", TABLE)  # so that the first drop_table has something to drop
    # Interleaved, so that whatever else the machine does weighs on every figure alike.
    scenarios = {
        PLAIN: plain_load,
        "reconcile, empty firewall (all added)": cold,
        "reconcile, no drift": lambda: reconciled(0, 0),
        "reconcile, 2,000 drifted (1,000 lost, 1,000 strays)": drifted,
    }
    samples: dict[str, list[float]] = {label: [] for label in scenarios}
    for _ in range(options.runs):
        for label, scenario in scenarios.items():
            samples[label].append(scenario())
    figures = {label: statistics.median(seconds) for label, seconds in samples.items()}
    baseline = figures[PLAIN]
    width = max(map(len, figures))
    print(f"median of {options.runs} runs:")
    worst = 0.0
    for label, seconds in figures.items():
        ratio = seconds / baseline
        if label.startswith("reconcile"):
            worst = max(worst, ratio)
        print(f"  {label:<{width}}  {seconds:6.2f} s   ratio {ratio:4.2f}")
    slowest = max(seconds for label, seconds in figures.items() if label.startswith("reconcile"))
    met = worst < 2 and slowest < 10
    print(
        f"goal (ratio < 2 and < 10 s): {'met' if met else 'NOT met'} (worst ratio {worst:.2f}, slowest {slowest:.2f} s)"
    )


if __name__ == "__main__":
    main()
