"""Faults in the Celery worker, with real processes killed for real (tests/harnesses/live_stack.py runs the
production shape on loopback).

- a Celery worker `kill -9`ed in the middle of a request's checks, and in the middle of an egress apply.

After each: no request stuck, no decision lost, no egress change missing or applied twice, and the
admin showed what was pending while the part was down. Everything is observed from outside, as an
operator would: HTTP against gunicorn, SQL against the database, the firewall's own record.
"""

import json
import threading

import pytest

from tests.egress_support import API_TOKEN, FakeNetworkAPI
from tests.harnesses.fault_support import (
    allowed,
    approve,
    decisions,
    file_request,
    live,
    outbox,
    pending_ids,
    pending_in_admin,
    status_of,
    wait_until_reviewable,
)
from tests.harnesses.live_services import wait_for
from tests.harnesses.live_stack import Client
from tests.smtp_servers import raw_server, tarpit

# --- a worker killed in the middle of the checks ------------------------------------------------------


@live
@pytest.mark.slow
def test_worker_killed_mid_checks_the_sweep_resumes_them_on_a_new_worker(deploy):
    connected = threading.Event()

    def hold(connection, stop) -> None:  # greets, then never answers: the relay probe waits
        connected.set()
        tarpit(connection, stop)

    with raw_server(hold) as smtp_port:
        portal = deploy("kill-checks", PORTAL_SMTP_PROBE_PORT=str(smtp_port), PORTAL_CHECK_STUCK_AFTER="3")
        with portal.starting():
            portal.start_web(workers=1, threads=2)
            # The first worker would wait a minute for the mail server; it runs no sweep.
            first = portal.start_worker("first", beat=False, PORTAL_SMTP_PROBE_TIMEOUT="60",
                                        PORTAL_SMTP_PROBE_DEADLINE="120", PORTAL_CHECK_TIMEOUT="120")  # fmt: skip
            data = portal.seed(customers=1, reviewers=1, ipv4={0: "127.0.0.1"})  # the tarpit listens there
        customer = data["customers"][0]
        request_id = file_request(portal, customer)
        run_of = "SELECT id, attempts FROM verification_checkrun WHERE subject = %s"
        subject = f"unblock_request:{request_id}"

        def undecided() -> list[str]:
            return [
                name
                for (name,) in portal.sql(
                    "SELECT check_name FROM verification_checkresult r JOIN verification_checkrun c ON r.run_id = c.id "
                    "WHERE c.subject = %s AND r.status IN ('pending', 'running') ORDER BY 1",
                    (subject,),
                )
            ]

        assert connected.wait(30), first.output()
        wait_for(lambda: undecided() == ["relay_probe"], 30, first.output)  # the other checks are stored
        done_before = portal.sql(
            "SELECT check_name, r.status, r.finished_at FROM verification_checkresult r JOIN verification_checkrun c "
            "ON r.run_id = c.id WHERE c.subject = %s AND r.status NOT IN ('pending', 'running') ORDER BY 1",
            (subject,),
        )
        first.kill()  # kill -9, mid-probe: the task is neither finished nor acknowledged

        assert status_of(portal, request_id) == "checking"
        assert [attempts for _id, attempts in portal.sql(run_of, (subject,))] == [1]

        # A new worker, with the sweep: it finds the request stalled (PORTAL_CHECK_STUCK_AFTER) and
        # resumes the run; the mail server still holds, so the probe now gives up after a second.
        second = portal.start_worker("second", PORTAL_SMTP_PROBE_TIMEOUT="1", PORTAL_SMTP_PROBE_DEADLINE="3",
                                     PORTAL_CHECK_TIMEOUT="8")  # fmt: skip
        wait_for(lambda: status_of(portal, request_id) == "awaiting_review", 45, second.output, step=0.2)

    [(run_id, attempts)] = portal.sql(run_of, (subject,))
    assert attempts == 2, "one more execution, of the same run"
    results = portal.sql(
        "SELECT check_name, status, finished_at FROM verification_checkresult WHERE run_id = %s ORDER BY 1", (run_id,)
    )
    assert len(results) == len({name for name, _status, _at in results}), "one result per check"
    assert undecided() == []
    assert set(done_before) <= set(results), "what the killed worker had stored was kept, not run again"
    assert dict((name, status) for name, status, _at in results)["relay_probe"] in ("error", "fail")
    transitions = portal.sql(
        "SELECT from_status, to_status FROM requests_app_requestevent WHERE request_id = %s AND kind = 'transition' "
        "ORDER BY id",
        (request_id,),
    )
    assert transitions == [("", "submitted"), ("submitted", "checking"), ("checking", "awaiting_review")]

    # And the request is decided as usual on the new worker.
    reviewer = Client(portal.url)
    reviewer.login(data["reviewers"][0], admin=True)
    assert approve(reviewer, request_id)
    wait_for(lambda: allowed(portal) == sorted(customer["ips"]), 20, second.output)
    assert decisions(portal, customer["account"]) == [("blocked", "allowed", "request")]


# --- a worker killed in the middle of applying a decision ----------------------------------------------


@live
@pytest.mark.slow
def test_worker_killed_mid_egress_apply_each_target_gets_the_change_exactly_once(deploy, cluster):
    api = FakeNetworkAPI().start()
    try:
        targets = {
            "default": {"backend": "simulated"},
            "api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 30},
        }
        portal = deploy("kill-egress", PORTAL_EGRESS_TARGETS=json.dumps(targets))
        with portal.starting():
            portal.start_web(workers=1, threads=2)
            first = portal.start_worker("first", beat=False, concurrency=2)  # one apply per target at once
            data = portal.seed(customers=1, reviewers=1)
        customer = data["customers"][0]
        request_id = file_request(portal, customer)
        wait_until_reviewable(portal, [request_id])

        # Hold both applies half-way: the API takes the change and keeps the answer; the simulated
        # firewall's table is locked, so that worker's insert waits inside its transaction.
        api.hang()
        lock = cluster.postgres.connect(portal.database)
        lock.autocommit = False
        lock.execute("LOCK TABLE egress_simulatedallowance IN ACCESS EXCLUSIVE MODE")
        reviewer = Client(portal.url)
        reviewer.login(data["reviewers"][0], admin=True)
        assert approve(reviewer, request_id, follow=False)  # (the page would wait for the locked table)
        assert api.hanging.wait(30), first.output()
        waiting = (
            "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'egress_simulatedallowance' AND NOT l.granted"
        )
        orphans = wait_for(lambda: [pid for (pid,) in portal.sql(waiting)], 30, first.output)  # the worker's sessions
        first.kill()
        api.release.set()
        lock.rollback()
        lock.close()

        rows = outbox(portal)
        assert [(target, status, attempts) for target, _a, status, attempts, _k, _e in rows] == [
            ("default", "pending", 0),
            ("api", "pending", 0),
        ], "the killed worker's transactions are gone: nothing recorded as applied"
        api_key = next(key for target, _a, _s, _n, key, _e in rows if target == "api")
        assert api.effects == [api_key], "the API took the change before the worker died"
        # The orphaned database session ends without a commit.
        gone = "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = ANY(%s)"
        wait_for(lambda: portal.scalar(gone, (orphans,)), 30, first.output)
        assert allowed(portal) == []

        # Meanwhile the admin shows both owed changes.
        admin = Client(portal.url)
        admin.login(data["superuser"], admin=True)
        assert pending_in_admin(admin) == pending_ids(portal) and len(pending_ids(portal)) == 2

        second = portal.start_worker("second")  # with the sweep (every second)
        wait_for(lambda: {row[2] for row in outbox(portal)} == {"applied"}, 30, second.output)
    finally:
        api.stop()

    assert allowed(portal) == sorted(customer["ips"])
    assert api.allowed == set(customer["ips"])
    assert api.effects == [api_key], "the retry carried the same key: the API applied the change once"
    assert {call.key for call in api.posts()} == {api_key}
    assert len(outbox(portal)) == 2
    assert decisions(portal, customer["account"]) == [("blocked", "allowed", "request")]
    assert pending_in_admin(admin) == set()
