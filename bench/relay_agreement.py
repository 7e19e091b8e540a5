"""Benchmark: the relay probe beside nmap's smtp-open-relay on every server of the test matrix.

Starts the aiosmtpd fixtures, one Postfix master (a listener per case) and an Exim daemon per
case on loopback (as tests/test_check_real_mtas.py does; run as root, with scripts/test's
unpacked Exim in var/ or PORTAL_TEST_EXIM_DIR), runs both tools against each and prints the
table: server, nmap's verdict, ours, the right answer, agree, and each tool's median wall time.

    .venv/bin/python bench/relay_agreement.py [--runs N]
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

from bench.loopback_django import setup_django  # noqa: E402
from tests.dns_server import LoopbackDNS  # noqa: E402  (needs no Django)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each tool per server (median time)")
    args = parser.parse_args()

    dns = LoopbackDNS().start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    os.environ.setdefault("PORTAL_TEST_EXIM_DIR", str(ROOT / "var" / "exim4-daemon-light"))
    setup_django(workdir, dns.nameserver)
    from django.conf import settings

    from tests.check_fixtures import make_certificate
    from tests.harnesses.nmap_relay import nmap_missing, run_nmap
    from tests.harnesses.relay_servers import ALL_CASES, NMAP_IS_WRONG, part_missing, relay_matrix

    if nmap_missing():
        sys.exit(f"bench/relay_agreement.py {nmap_missing()}")
    available = tuple(c for c in ALL_CASES if part_missing(c) is None)
    for case in ALL_CASES:
        if case not in available:
            print(f"skipped {case.name}: {part_missing(case)}")
    rows = []
    try:
        with relay_matrix(make_certificate(workdir), available) as servers:
            for case in available:
                rows.append(_compare(case, servers[case.name].port, settings, args.runs, run_nmap))
    finally:
        dns.stop()
    _print(rows, NMAP_IS_WRONG)


def _compare(case, port: int, settings, runs: int, run_nmap) -> dict:
    from verification.checks import relay_probe
    from verification.outcome import Deadline

    settings.PORTAL_SMTP_PROBE_PORT = port
    ours, our_times, nmaps = "", [], []
    for _ in range(runs):
        started = time.monotonic()
        outcome = relay_probe.check(_subject(), Deadline(settings.PORTAL_SMTP_PROBE_DEADLINE))
        our_times.append(time.monotonic() - started)
        ours = outcome.evidence["verdict"]
        nmaps.append(run_nmap(port, settings.PORTAL_SMTP_PROBE_DOMAIN))
    return {
        "case": case,
        "ours": ours,
        "nmap": nmaps[-1].verdict,
        "ours_s": statistics.median(our_times),
        "nmap_s": statistics.median(n.seconds for n in nmaps),
    }


def _subject():
    from verification.outcome import CheckSubject

    return CheckSubject(mail_server_ip="127.0.0.1", mail_server_hostname="", sending_domain="example.org")


def _print(rows: list[dict], nmap_is_wrong: dict) -> None:
    header = f"{'server':22} {'nmap':13} {'ours':13} {'right':13} {'agree':6} {'nmap s':>7} {'ours s':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        name, right = row["case"].name, row["case"].verdict
        agree = "yes" if row["nmap"] == row["ours"] else "no"
        print(
            f"{name:22} {row['nmap']:13} {row['ours']:13} {right:13} {agree:6} "
            f"{row['nmap_s']:7.2f} {row['ours_s']:7.2f}"
        )
    print()
    for row in rows:
        if row["nmap"] != row["ours"]:
            print(f"{row['case'].name}: {nmap_is_wrong.get(row['case'].name, 'NOT A KNOWN nmap ERROR')}")
    right = sum(r["ours"] == r["case"].verdict for r in rows)
    nmap_right = sum(r["nmap"] == r["case"].verdict for r in rows)
    agree = sum(r["nmap"] == r["ours"] for r in rows)
    print(
        f"{len(rows)} servers: ours right on {right}, nmap right on {nmap_right}, agree on {agree}; "
        f"median wall time ours {statistics.median(r['ours_s'] for r in rows):.2f} s, "
        f"nmap {statistics.median(r['nmap_s'] for r in rows):.2f} s"
    )


if __name__ == "__main__":
    main()
