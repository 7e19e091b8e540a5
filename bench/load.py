"""Benchmark: the load test (tests/test_load.py) for longer, with more users, and its figures.

The same production-shaped portal on loopback (own PostgreSQL cluster and Redis, gunicorn, a Celery
worker with beat; tests/harnesses/live_stack.py) and the same Locust users (tests/harnesses/load_locustfile.py):
customers signing in and filing requests by form and API, polling; reviewers working the admin
queue and approving; a feedback loop posting abuse reports. Prints throughput and p50/p99 per
endpoint, then audits the database for lost writes, and writes the figures to var/load-bench.json.

    .venv/bin/python bench/load.py [--users 40] [--seconds 120] [--web-workers 2] [--threads 4]

Needs PostgreSQL's server binaries, redis-server and gunicorn (scripts/test installs them); run as
root it starts PostgreSQL as the `postgres` OS user.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.check_fixtures import CHECKS_ZONE  # noqa: E402
from tests.dns_server import LoopbackDNS  # noqa: E402
from tests.harnesses.live_services import missing_for_stack  # noqa: E402
from tests.harnesses.live_stack import Cluster  # noqa: E402
from tests.harnesses.load_run import audit_load, figures_table, load_figures, pipeline_figures, run_load, settle  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=40, help="Locust users (2 reviewers, 1 reporter among them)")
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()
    missing = missing_for_stack(under_scripts_test=False)
    if missing:
        sys.exit(f"bench/load.py: {missing}")

    filers = args.users * args.seconds // 4 + 50  # more accounts than the customers can use up
    dns = LoopbackDNS().start()
    dns.resolver.add(CHECKS_ZONE)
    cluster = Cluster()
    try:
        cluster.start()
        portal = cluster.portal("bench", dns.nameserver)
        with portal.starting():
            portal.start_web(workers=args.web_workers, threads=args.threads)
            portal.start_worker("bench", concurrency=args.worker_concurrency)
            print(f"seeding {filers} accounts ...", flush=True)
            data = portal.seed(customers=filers + 20, reviewers=2, reporters=1)
        print(f"{args.users} users for {args.seconds} s against {portal.url} ...", flush=True)
        recorded = run_load(portal, data, filers=filers, users=args.users, spawn_rate=args.spawn_rate,
                            seconds=args.seconds)  # fmt: skip
        drained = settle(portal, seconds=300)
        figures = load_figures(recorded)
        filed = {f["id"]: f["account"] for f in recorded["filed"]}
        figures.update(pipeline_figures(portal, list(filed), [filed[pk] for pk in recorded["approved"]]))
        figures.update({"drained_after_s": drained, "users": args.users,
                        "gunicorn": f"{args.web_workers} workers x {args.threads} threads (gthread)",
                        "celery": f"1 worker, prefork concurrency {args.worker_concurrency}, beat"})  # fmt: skip
        audit = audit_load(portal, data, recorded)
        print(figures_table(figures))
        print(json.dumps({k: v for k, v in figures.items() if k != "endpoints"}, indent=2))
        problems = {kind: found for kind, found in audit.items() if found}
        print("audit:", json.dumps(problems, default=str, indent=2) if problems else "no error, no lost write")
        out = ROOT / "var" / "load-bench.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({**figures, "audit": audit}, default=str, indent=2))
        return 1 if problems else 0
    finally:
        cluster.stop()
        dns.stop()


if __name__ == "__main__":
    sys.exit(main())
