"""Benchmark: a decision to enforced on a fleet of gateway services, and the gateway's own apply cost.

(a) Decision -> enforced: one address allowed (then denied, alternately) on every gateway of a fleet
    of 1, 4 and 16 (each a network namespace with nftables and a running `python -m gateway`, over
    TLS), pushed through the portal's `http` adapter, one worker thread per gateway as the `egress`
    queue runs one task per target. A gateway answers after its `nft -f` committed, so the last
    answer is the moment the address is enforced everywhere. p50/p99 side by side, and with one of 16
    gateways down: the others' p99. Goals: p99(16) <= 2 x p99(1); one down raises the others' p99 by
    at most 20 %.
(b) The gateway's apply (POST /changes, TLS, key store, nft) against a bare `nft -f` of the same
    batch in the same namespace. Goal: <= 1.5x.

Needs root, nft, ip (iproute2) and openssl. It makes its own namespaces and removes them.

    .venv/bin/python bench/fleet.py [--rounds 40]

The last line, for scripts:
    fleet: p99 1 gateway <s> s, 16 gateways <s> s, ratio <r>; one down: others' p99 <s> s
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = "198.51.100.77"
BARE = """
import subprocess, sys, time
script = sys.argv[1]
for _ in sys.stdin:  # one bare apply per line, timed
    started = time.perf_counter()
    subprocess.run(["nft", "-f", script], check=True)
    print(time.perf_counter() - started, flush=True)
"""


def setup_django() -> None:
    """The portal's `http` adapter needs settings (no database is used)."""
    os.environ.update(
        PORTAL_LOG_LEVEL="ERROR", DATABASE_URL="sqlite://:memory:", DJANGO_SETTINGS_MODULE="portal.settings"
    )
    os.environ.setdefault("PORTAL_SECRET_KEY", "bench-not-secret")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def decision_to_enforced(lab, rounds: int, down: set[int] = frozenset()) -> list[float]:
    """Seconds from the decision to the last gateway's answer, per round (down gateways left out)."""
    from egress.adapters import Change, EgressError
    from egress.adapters.http import HttpAdapter
    from tests.harnesses.gateway_lab import TOKEN

    adapters = [
        HttpAdapter(name=f"gw{node.index}", url=node.url, token=TOKEN, ca_file=str(lab.ca), timeout=10)
        for node in lab.gateways
    ]

    def push(adapter: HttpAdapter, change: Change) -> float | None:
        try:
            adapter.apply(change)
        except EgressError:
            return None  # the down gateway: its change stays owed, the others do not wait for it
        return time.perf_counter()

    times = []
    with ThreadPoolExecutor(max_workers=len(adapters)) as pool:
        for n in range(rounds + 1):
            allow = n % 2 == 0
            change = Change(key=str(uuid.uuid4()), **{"allow" if allow else "deny": frozenset({ADDRESS})})
            started = time.perf_counter()
            done = list(pool.map(lambda adapter: push(adapter, change), adapters))  # noqa: B023 - used at once
            answered = [at for i, at in enumerate(done, start=1) if i not in down]
            assert all(at is not None for at in answered), "a gateway that is up failed"
            if n:  # the first round creates the tables: not a change of the steady state
                times.append(max(answered) - started)
    return times


def apply_cost(lab, rounds: int) -> tuple[list[float], list[float]]:
    """(gateway round trips, bare nft -f) of the same one-address change, in seconds, interleaved
    round by round so that the shared machine's load falls on both alike."""
    from egress.adapters import Change
    from egress.adapters.http import HttpAdapter
    from nft_ruleset import Ruleset
    from tests.harnesses.gateway_lab import PORT, TOKEN, trusting

    node = lab.gateways[0]
    adapter = HttpAdapter(name="gw", url=node.url, token=TOKEN, ca_file=str(lab.ca), timeout=10)
    gateway, bare = [], []
    with tempfile.NamedTemporaryFile("w", suffix=".nft") as script:
        script.write(Ruleset(hook="forward").batch([ADDRESS], []))
        script.flush()
        helper = subprocess.Popen(["ip", "netns", "exec", node.netns, sys.executable, "-c", BARE, script.name],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            for _ in range(rounds):
                started = time.perf_counter()
                adapter.apply(Change(key=str(uuid.uuid4()), allow=frozenset({ADDRESS})))
                gateway.append(time.perf_counter() - started)
                helper.stdin.write("go\n")
                helper.stdin.flush()
                bare.append(float(helper.stdout.readline()))
        finally:
            helper.stdin.close()
            helper.wait(timeout=30)
    metrics = httpx.get(f"https://{node.address}:{PORT}/metrics", verify=trusting(lab.ca)).text
    total, count = (float(re.search(rf"apply_seconds_{part} (\S+)", metrics)[1]) for part in ("sum", "count"))
    print(f"the gateway's own nft apply (its metric), mean {total / count:.4f} s")
    return gateway, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="changes timed per fleet size")
    options = parser.parse_args()
    setup_django()
    from tests.harnesses.gateway_lab import fleet_lab

    p99, rows = {}, []
    with tempfile.TemporaryDirectory() as directory:
        for size in (1, 4, 16):
            # The real nft, not the lab's wrapper that can hold a batch for the tests.
            with fleet_lab(size, Path(directory) / f"fleet{size}", traffic=False, GATEWAY_NFT="nft") as lab:
                times = decision_to_enforced(lab, options.rounds)
                p99[size] = quantile(times, 0.99)
                rows.append((f"{size} gateway{'s' if size > 1 else ''}", times))
                if size == 16:
                    lab.gateways[-1].kill()
                    down = decision_to_enforced(lab, options.rounds, down={16})
                    p99["down"] = quantile(down, 0.99)
                    rows.append(("16, one down (others)", down))
                if size == 1:
                    gateway, bare = apply_cost(lab, options.rounds)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"decision -> enforced on every gateway, {options.rounds} changes each (seconds)")
    print(f"{'fleet':<24}{'p50':>8}{'p99':>8}{'max':>8}")
    for name, times in rows:
        print(f"{name:<24}{statistics.median(times):>8.3f}{quantile(times, 0.99):>8.3f}{max(times):>8.3f}")
    ratio = statistics.median(gateway) / statistics.median(bare)
    print(f"apply of one address: gateway (HTTPS round trip) p50 {statistics.median(gateway):.4f} s, "
          f"bare nft -f p50 {statistics.median(bare):.4f} s, ratio {ratio:.2f}")  # fmt: skip
    print(f"goals: p99 16/1 {p99[16] / p99[1]:.2f} (<= 2), one down / all up {p99['down'] / p99[16]:.2f} (<= 1.2), "
          f"gateway / bare {ratio:.2f} (<= 1.5)")  # fmt: skip
    print(f"fleet: p99 1 gateway {p99[1]:.3f} s, 16 gateways {p99[16]:.3f} s, ratio {p99[16] / p99[1]:.2f}; "
          f"one down: others' p99 {p99['down']:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
