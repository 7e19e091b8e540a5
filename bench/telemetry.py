"""Benchmark: what the port-25 traffic telemetry costs the firewall and the collector.

(a) New TCP connections per second to port 25 through a gateway namespace (forward hook), with the
    telemetry rules loaded (counting sets, the over-rate meter) next to the same table without them,
    in one run, alternating. Goal: ratio >= 0.9.
(b) One collection over 100,000 allowed addresses with counters, next to a bare `nft -j list` of
    the same sets (the counters are spread over 8 sets, listed side by side), and of one set holding
    all 100,000 (the layout before the shards): the adapter's read, and a whole collection when
    nothing moved (the steady state). Goal: <= 1.5x the bare listing and under 2 s.

Needs root, nft and ip (iproute2). It makes its own namespaces and SQLite database and removes both.

    .venv/bin/python bench/telemetry.py [--addresses 100000] [--connections 10000] [--runs 9]
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
V4_BASE = int(ipaddress.IPv4Address("198.18.0.0"))
CUSTOMER, GATEWAY_DOWN, GATEWAY_UP, INTERNET = "198.51.100.7", "198.51.100.254", "203.0.113.254", "203.0.113.1"

LISTENER = """
import socket, struct
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 25))
s.listen(4096)
print("ready", flush=True)
linger = struct.pack("ii", 1, 0)
while True:
    c = s.accept()[0]
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    c.close()
"""

# Each connection from a source port of its own: where the gateway also tracks connections (for NAT,
# say), a 4-tuple used again within 10 s of its reset would not make a new connection.
CLIENT = """
import socket, struct, sys, time
source, destination, count, first_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
linger = struct.pack("ii", 1, 0)
start = time.perf_counter()
failed = 0
for port in range(first_port, first_port + count):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)  # a reset, not TIME_WAIT: no port runs out
    s.bind((source, port))
    try:
        s.connect((destination, 25))
    except ConnectionError:
        failed += 1  # the listener's queue overflowed: rare, counted, not timed as a success
    s.close()
print((count - failed) / (time.perf_counter() - start), failed)
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def in_ns(netns: str, *args: str, script: str | None = None) -> str:
    done = subprocess.run(["ip", "netns", "exec", netns, *args], input=script, text=True, capture_output=True)
    if done.returncode:
        sys.exit(f"failed in {netns}: {' '.join(args[:2])}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def setup_django(database: Path, netns: str) -> None:
    os.environ.update(
        DATABASE_URL=f"sqlite:///{database}",
        PORTAL_SECRET_KEY="bench-not-secret",  # noqa: S106 - a throw-away database
        PORTAL_LOG_LEVEL="ERROR",
        PORTAL_EGRESS_TARGETS=json.dumps(
            {"bench": {"backend": "nftables", "netns": netns, "table": TABLE, "hook": "forward"}}
        ),
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_lab(customer: str, gateway: str, internet: str) -> None:
    """customer <-> gateway <-> internet over veth pairs, the gateway forwarding."""
    for a, a_dev, b, b_dev in ((customer, "veth0", gateway, "down0"), (gateway, "up0", internet, "veth1")):
        ip("-n", a, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b)
        for netns, device in ((a, a_dev), (b, b_dev)):
            ip("-n", netns, "link", "set", "lo", "up")
            ip("-n", netns, "link", "set", device, "up")
    ip("-n", customer, "addr", "add", f"{CUSTOMER}/24", "dev", "veth0")
    ip("-n", gateway, "addr", "add", f"{GATEWAY_DOWN}/24", "dev", "down0")
    ip("-n", gateway, "addr", "add", f"{GATEWAY_UP}/24", "dev", "up0")
    ip("-n", internet, "addr", "add", f"{INTERNET}/24", "dev", "veth1")
    ip("-n", customer, "route", "add", "default", "via", GATEWAY_DOWN)
    ip("-n", internet, "route", "add", "default", "via", GATEWAY_UP)
    in_ns(gateway, "sysctl", "-qw", "net.ipv4.ip_forward=1")


def baseline_ruleset(adapter) -> str:
    """The table as it was before telemetry: the allow sets, accept them, refuse the rest."""
    t, c = TABLE, adapter.nft.ruleset.chain
    return "\n".join(
        [
            f"add table inet {t}",
            f"delete table inet {t}",
            f"add table inet {t}",
            f"add set inet {t} allowed_v4 {{ type ipv4_addr; }}",
            f"add set inet {t} allowed_v6 {{ type ipv6_addr; }}",
            f"add chain inet {t} {c} {{ type filter hook forward priority 0; policy accept; }}",
            f"add rule inet {t} {c} tcp dport 25 ip saddr @allowed_v4 accept",
            f"add rule inet {t} {c} tcp dport 25 ip6 saddr @allowed_v6 accept",
            f"add rule inet {t} {c} tcp dport 25 reject with tcp reset",
            f"add element inet {t} allowed_v4 {{ {CUSTOMER} }}",
        ]
    )


def telemetry_ruleset(adapter) -> str:
    from egress.adapters import Change

    batch = adapter.batch(Change(key="bench", allow=frozenset({CUSTOMER})))
    return f"add table inet {TABLE}\ndelete table inet {TABLE}\n{batch}"


def connection_rates(options, customer: str, gateway: str, internet: str) -> None:
    from egress.targets import adapter_for

    build_lab(customer, gateway, internet)
    listener = subprocess.Popen(
        ["ip", "netns", "exec", internet, sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert listener.stdout.readline().strip() == "ready"
        adapter = adapter_for("bench")
        rulesets = {"without telemetry": baseline_ruleset(adapter), "with telemetry": telemetry_ruleset(adapter)}
        rates: dict[str, list[float]] = {name: [] for name in rulesets}
        first_port, failures = 1024, 0
        for ruleset in rulesets.values():  # warm up (neighbours, caches), not timed
            in_ns(gateway, "nft", "-f", "-", script=ruleset)
            in_ns(customer, sys.executable, "-c", CLIENT, CUSTOMER, INTERNET, "500", str(first_port))
            first_port += 500
        for _ in range(options.runs):
            for name, ruleset in rulesets.items():
                if first_port + options.connections > 50_000:
                    time.sleep(11)  # conntrack forgets the reset connections of the first ports
                    first_port = 1024
                in_ns(gateway, "nft", "-f", "-", script=ruleset)
                client = [sys.executable, "-c", CLIENT, CUSTOMER, INTERNET, str(options.connections), str(first_port)]
                rate, failed = in_ns(customer, *client).split()
                rates[name].append(float(rate))
                failures += int(failed)
                first_port += options.connections
        counted = adapter.counters().connections.get(CUSTOMER, 0)
    finally:
        listener.kill()
        listener.wait()
    without, with_ = (statistics.median(rates[name]) for name in rulesets)
    best_without, best_with = (max(rates[name]) for name in rulesets)
    print(f"(a) new tcp/25 connections per second through the gateway ({options.runs} runs each, alternating):")
    for name, median in (("without telemetry", without), ("with telemetry", with_)):
        runs = ", ".join(f"{r:,.0f}" for r in rates[name])
        print(f"    {name + ' rules:':26s} median {median:10,.0f}/s   runs: {runs}")
    print(f"    ratio with/without: median {with_ / without:.2f}, best {best_with / best_without:.2f} (goal >= 0.9)")
    print(f"    the last run's {options.connections:,} connections counted as {counted:,}; {failures} refused in all")


def collection_times(options, netns: str) -> None:
    from egress.adapters import Change
    from egress.targets import adapter_for
    from egress.traffic import collect
    from nft_ruleset.ruleset import SHARDS as _SHARDS

    adapter = adapter_for("bench")
    reference = "add table inet one\nadd set inet one conn_v4 { type ipv4_addr; flags dynamic,timeout; counter; }"
    in_ns(netns, "nft", "-f", "-", script=adapter.batch(Change(key="setup")) + reference + "\n")
    addresses = [str(ipaddress.IPv4Address(V4_BASE + i)) for i in range(options.addresses)]
    for start in range(0, len(addresses), 10_000):
        elements = [
            f"{a} counter packets {(start + i) % 997 + 1} bytes 60 timeout 1d"
            for i, a in enumerate(addresses[start : start + 10_000])
        ]
        script = [f"add element inet one conn_v4 {{ {', '.join(elements)} }}"]
        script += [
            f"add element inet {TABLE} conn_v4_{shard} {{ {', '.join(elements[shard::_SHARDS])} }}"
            for shard in range(_SHARDS)
        ]
        in_ns(netns, "nft", "-f", "-", script="\n".join(script) + "\n")

    def timed(action) -> float:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started

    def bare_list(sets: list[tuple[str, str]]) -> None:
        """`nft -j list set` of each, side by side, as the adapter lists them; nothing parsed."""
        with tempfile.TemporaryFile() as out:
            argv = ["ip", "netns", "exec", netns, "nft", "-j", "list", "set", "inet"]
            listings = [subprocess.Popen([*argv, table, name], stdout=out) for table, name in sets]
            assert all(listing.wait() == 0 for listing in listings)

    def read() -> None:
        assert len(adapter.counters().connections) == options.addresses

    shards = [(TABLE, f"conn_v4_{shard}") for shard in range(_SHARDS)]
    cold = timed(collect)  # the first collection stores every counter: not the steady state
    one = [("one", "conn_v4")]
    actions = {
        f"bare `nft -j list set` of the {_SHARDS} sets": lambda: bare_list(shards),
        "bare `nft -j list set` of one set": lambda: bare_list(one),
        f"adapter read ({_SHARDS * 2 + 4} sets listed, parsed)": read,
        "whole collection, nothing moved": collect,
    }
    figures = {name: [timed(action) for _ in range(options.runs)] for name, action in actions.items()}
    base = statistics.median(next(iter(figures.values())))
    print(f"(b) {options.addresses:,} addresses with counters (median of {options.runs} runs):")
    for name, runs in figures.items():
        median = statistics.median(runs)
        print(f"    {name:40s} {median:6.3f} s   ratio {median / base:4.2f}")
    print(f"    first collection (stores every counter once): {cold:.2f} s")
    print(f"    goal: <= 1.5x the bare listing of the {_SHARDS} sets and under 2 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=10_000, help="connections per rate measurement")
    parser.add_argument("--runs", type=int, default=9, help="each figure is the median of this many runs")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/telemetry.py needs root (network namespaces and nftables).")
    run_id = uuid.uuid4().hex[:8]
    names = [f"p25-tb-{role}-{run_id}" for role in ("cust", "gw", "inet", "coll")]
    try:
        for name in names:
            ip("netns", "add", name)
        customer, gateway, internet, collector = names
        with tempfile.TemporaryDirectory() as folder:
            setup_django(Path(folder) / "bench.sqlite3", gateway)
            connection_rates(options, customer, gateway, internet)
            from django.conf import settings

            settings.PORTAL_EGRESS_TARGETS = {"bench": {"backend": "nftables", "netns": collector, "table": TABLE}}
            collection_times(options, collector)
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


if __name__ == "__main__":
    main()
