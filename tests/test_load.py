"""Load: customers, reviewers and abuse reporters at once against the production shape, on loopback.

gunicorn (2 workers x 4 threads) + PostgreSQL + Redis (broker and cache) + a Celery worker with beat,
all real processes (tests/harnesses/live_stack.py), driven by Locust run headless for a bounded time
(tests/harnesses/load_locustfile.py). Afterwards: no 5xx (no error at all), and no lost write: every request
the portal acknowledged is in the database and was checked, every approval it confirmed is recorded,
the firewall (the simulated backend's table) allows exactly the approved accounts' addresses, and
every accepted abuse report is stored. The figures are printed (pytest -s) and written to
var/load-figures.json for information only: the test runs beside the suite's other tests, so it
asserts correctness, not speed; `bench/load.py` runs the same for longer and measures.
"""

import json
import os

import pytest

from tests.harnesses.live_services import ROOT, missing_for_stack
from tests.harnesses.load_run import audit_load, figures_table, load_figures, pipeline_figures, run_load, settle
from tests.parts import missing

MISSING = missing_for_stack()
pytestmark = [missing(MISSING), pytest.mark.slow]

FILERS = 160  # accounts that may file (one request each); more than a run uses
REPORTED = 20  # accounts the reporters complain about (they never file)
USERS = int(os.environ.get("PORTAL_LOAD_USERS", "20"))  # 2 reviewers and 1 reporter among them
SECONDS = int(os.environ.get("PORTAL_LOAD_SECONDS", "30"))
# What makes the run a load: past SECONDS it goes on (up to 120 s) until it has done this much, since
# the suite's other tests share the machine (under a load average of 11, 30 s held 4 approvals).
AT_LEAST = {"filed": 20, "approved": 5, "reports": 10}


def test_load_answers_without_errors_and_loses_no_write(cluster, check_zone):
    portal = cluster.portal("load", check_zone.nameserver)
    try:
        with portal.starting():
            portal.start_web(workers=2, threads=4)
            portal.start_worker("load", concurrency=2)
            data = portal.seed(customers=FILERS + REPORTED, reviewers=2, reporters=1)
        recorded = run_load(portal, data, filers=FILERS, users=USERS, spawn_rate=10, seconds=SECONDS,
                            at_least=AT_LEAST, most_seconds=120)  # fmt: skip
        drained = settle(portal)

        figures = load_figures(recorded)
        filed = {f["id"]: f["account"] for f in recorded["filed"]}
        figures.update(pipeline_figures(portal, list(filed), [filed[pk] for pk in recorded["approved"]]))
        figures.update({"drained_after_s": drained, "users": USERS, "gunicorn": "2 workers x 4 threads (gthread)",
                        "celery": "1 worker, prefork concurrency 2, beat"})  # fmt: skip
        report = ROOT / "var" / "load-figures.json"
        report.parent.mkdir(exist_ok=True)
        report.write_text(json.dumps(figures, indent=2))
        print(f"\n{figures_table(figures)}\n{json.dumps({k: v for k, v in figures.items() if k != 'endpoints'})}")

        # The load really happened, with every kind of user.
        assert figures["filed"] >= AT_LEAST["filed"] and figures["approved"] >= AT_LEAST["approved"], figures
        assert figures["abuse_reports"] >= AT_LEAST["reports"], figures
        audit = audit_load(portal, data, recorded)
        # No 5xx, and no other error: every answer was the one a working portal gives.
        assert audit["errors"] == []
        # Every request acknowledged (201, or the form's redirect to it) is there, on its account,
        # and went through the checks (none left in submitted / checking once the worker drained).
        assert audit["requests_lost"] == []
        assert audit["requests_on_wrong_account"] == []
        assert audit["requests_stuck"] == []
        # Every approval the admin confirmed is recorded, and only those; no two reviewers collided.
        assert audit["approvals_lost"] == []
        assert audit["approvals_unconfirmed"] == []
        assert audit["approvals_conflicting"] == []
        # The firewall allows exactly the approved accounts' addresses, every change applied.
        assert audit["firewall_missing"] == []
        assert audit["firewall_extra"] == []
        assert audit["egress_changes_owed"] == []
        # Every abuse report answered 202 (accepted) is stored, as sent.
        assert audit["reports_lost"] == []
    finally:
        portal.stop()
