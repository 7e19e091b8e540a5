"""The load run against a `tests.harnesses.live_stack.Portal`: Locust in a subprocess, then its figures and audit.

Used by tests/test_load.py (bounded, in CI) and bench/load.py (longer, by hand).
"""

import json
import math
import subprocess
import sys
import time
from pathlib import Path

from tests.harnesses.live_services import ROOT, wait_for
from tests.harnesses.live_stack import PASSWORD, Portal, clean_environ

HERE = Path(__file__).resolve().parent  # beside load_locustfile.py


def run_load(portal: Portal, data: dict, *, filers: int, users: int, spawn_rate: float, seconds: int,
             polls: int = 4, at_least: dict[str, int] | None = None, most_seconds: int = 0) -> dict:  # fmt: skip
    """Run tests/harnesses/load_locustfile.py against the portal for `seconds`, and on (up to `most_seconds`)
    until it has acknowledged `at_least` of each kind of write (a busy machine does less in a given time,
    {"approved": 5}, say); returns what it recorded."""
    most_seconds = max(seconds, most_seconds)
    data_file, out_file = portal.folder / "load-data.json", portal.folder / "load-out.json"
    data_file.write_text(json.dumps(data))
    classes = ["BrowserCustomer", "ApiCustomer", "Reviewer"] + (["Reporter"] if data.get("reporters") else [])
    # At the end every user finishes the task under way (up to gunicorn's 60 s timeout of a request), so
    # that every request sent has its answer recorded: an approval cut off in flight would be in the
    # database, yet unconfirmed (with a 5 s stop-timeout, a run on a busy machine failed so).
    argv = [sys.executable, "-m", "locust", "-f", str(HERE / "load_locustfile.py"), "--headless",
            "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{most_seconds}s",
            "--host", portal.url, "--stop-timeout", "60", "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0", *classes]  # fmt: skip
    env = {**clean_environ(), "LOAD_DATA": str(data_file), "LOAD_OUT": str(out_file), "LOAD_FILERS": str(filers),
           "LOAD_POLLS": str(polls), "LOAD_PASSWORD": PASSWORD, "LOAD_SECONDS": str(seconds),
           "LOAD_AT_LEAST": json.dumps(at_least or {})}  # fmt: skip
    log = portal.folder / "locust.log"
    with log.open("wb") as out:
        result = subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                timeout=most_seconds + 120, check=False)  # fmt: skip
    if result.returncode != 0 or not out_file.exists():
        raise RuntimeError(f"locust exited with {result.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
    return json.loads(out_file.read_text())


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def load_figures(recorded: dict) -> dict:
    """Throughput and latency per endpoint (ms), and the totals, from what Locust recorded."""
    seconds = max(0.001, (recorded["clock"]["stop"] or 0) - (recorded["clock"]["start"] or 0))
    endpoints = {}
    for name, times in sorted(recorded["samples"].items()):
        codes = recorded["statuses"].get(name, {})
        endpoints[name] = {
            "requests": len(times),
            "per_second": round(len(times) / seconds, 2),
            "p50_ms": round(percentile(times, 0.50), 1),
            "p99_ms": round(percentile(times, 0.99), 1),
            "max_ms": round(max(times), 1),
            "statuses": codes,
        }
    total = sum(e["requests"] for e in endpoints.values())
    every = [t for times in recorded["samples"].values() for t in times]
    return {
        "seconds": round(seconds, 1),
        "requests": total,
        "per_second": round(total / seconds, 1),
        "p50_ms": round(percentile(every, 0.50), 1),
        "p99_ms": round(percentile(every, 0.99), 1),
        "endpoints": endpoints,
        "filed": len(recorded["filed"]),
        "approved": len(recorded["approved"]),
        "approval_conflicts": len(recorded["conflicts"]),
        "abuse_reports": len(recorded["reports"]),
    }


def figures_table(figures: dict) -> str:
    lines = [f"{'endpoint':62} {'n':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses"]
    for name, e in figures["endpoints"].items():
        codes = " ".join(f"{code}:{n}" for code, n in sorted(e["statuses"].items()))
        lines.append(
            f"{name[:62]:62} {e['requests']:>6} {e['per_second']:>7} {e['p50_ms']:>8} {e['p99_ms']:>8}  {codes}"
        )
    lines.append(
        f"{'all':62} {figures['requests']:>6} {figures['per_second']:>7} {figures['p50_ms']:>8} {figures['p99_ms']:>8}"
    )
    return "\n".join(lines)


def settle(portal: Portal, seconds: float = 90) -> float:
    """Wait until the worker has drained: no request left in the checks, no egress change owed.
    Returns the seconds it took."""
    started = time.monotonic()

    def settled() -> bool:
        checking = portal.scalar(
            "SELECT count(*) FROM requests_app_unblockrequest WHERE status IN ('submitted', 'checking')"
        )
        owed = portal.scalar("SELECT count(*) FROM egress_egresschange WHERE status <> 'applied'")
        return checking == 0 and owed == 0

    wait_for(settled, seconds, portal.output, step=0.5)
    return round(time.monotonic() - started, 1)


def pipeline_figures(portal: Portal, filed: list[int], approved_accounts: list[int]) -> dict:
    """Seconds from filing to the review queue (checks done), and from a decision to the firewall."""
    checked = portal.sql(
        "SELECT extract(epoch FROM min(e.at) - r.created_at) FROM requests_app_unblockrequest r "
        "JOIN requests_app_requestevent e ON e.request_id = r.id AND e.to_status = 'awaiting_review' "
        "WHERE r.id = ANY(%s) GROUP BY r.id",
        (filed,),
    )
    applied = portal.sql(
        "SELECT extract(epoch FROM applied_at - created_at) FROM egress_egresschange WHERE account_id = ANY(%s)",
        (approved_accounts,),
    )
    figures = {}
    for name, rows in (("filed_to_review_queue_s", checked), ("decision_to_firewall_s", applied)):
        values = [float(row[0]) for row in rows]
        figures[name] = {"p50": round(percentile(values, 0.5), 2), "p99": round(percentile(values, 0.99), 2)}
    return figures


def audit_load(portal: Portal, data: dict, recorded: dict) -> dict:
    """What went wrong in a load run, by kind (every list empty when nothing did)."""
    figures = load_figures(recorded)
    filed = {f["id"]: f["account"] for f in recorded["filed"]}
    ips = {c["account"]: c["ips"] for c in data["customers"]}
    approved_accounts = {filed[pk] for pk in recorded["approved"]}
    errors = [
        f"{name}: {code} x{n}"
        for name, e in figures["endpoints"].items()
        for code, n in e["statuses"].items()
        if not 200 <= int(code) < 400
    ]
    stored = dict(
        portal.sql("SELECT id, account_id FROM requests_app_unblockrequest WHERE id = ANY(%s)", (list(filed),))
    )
    approved = {pk for (pk,) in portal.sql("SELECT id FROM requests_app_unblockrequest WHERE status = 'approved'")}
    allowed = {str(ip) for (ip,) in portal.sql("SELECT ip FROM egress_simulatedallowance WHERE target = 'default'")}
    should = {ip for account in approved_accounts for ip in ips[account]}
    report_ids = [r["id"] for r in recorded["reports"]]
    reports = dict(portal.sql("SELECT id, host(source_ip) FROM abuse_abusereport WHERE id = ANY(%s)", (report_ids,)))
    return {
        "errors": errors,  # 5xx, 4xx and broken connections
        "requests_lost": sorted(set(filed) - set(stored)),
        "requests_on_wrong_account": sorted(pk for pk in stored if stored[pk] != filed[pk]),
        "requests_stuck": portal.sql(
            "SELECT id, status FROM requests_app_unblockrequest WHERE status IN ('submitted', 'checking')"
        ),
        "approvals_conflicting": recorded["conflicts"],
        "approvals_lost": sorted(set(recorded["approved"]) - approved),
        "approvals_unconfirmed": sorted(approved - set(recorded["approved"])),
        "firewall_missing": sorted(should - allowed),
        "firewall_extra": sorted(allowed - should),
        "egress_changes_owed": portal.sql("SELECT id, status FROM egress_egresschange WHERE status <> 'applied'"),
        "reports_lost": sorted(r["id"] for r in recorded["reports"] if reports.get(r["id"]) != r["source_ip"]),
    }
