"""Faults in the servers the portal depends on, with real processes killed for real (tests/harnesses/live_stack.py
runs the production shape on loopback).

- Redis killed while customers file requests and reviewers approve, then started again (empty);
- PostgreSQL restarted (`pg_ctl restart -m fast`) while customers and a reviewer keep working.

After each: no request stuck, no decision lost, no egress change missing or applied twice, and the
admin showed what was pending while the part was down. Everything is observed from outside, as an
operator would: HTTP against gunicorn, SQL against the database, the firewall's own record.
"""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harnesses.fault_support import (
    APPROVED_MESSAGE,
    allowed,
    approve,
    decisions,
    file_request,
    live,
    outbox,
    pending_ids,
    pending_in_admin,
    statuses,
    wait_until_reviewable,
)
from tests.harnesses.live_services import wait_for
from tests.harnesses.live_stack import Client, request_answers

# --- Redis (broker and cache) killed while people work -------------------------------------------------


@live
@pytest.mark.slow
def test_redis_killed_while_customers_file_and_reviewers_approve_nothing_is_lost(deploy):
    portal = deploy("redis-down", PORTAL_CHECK_STUCK_AFTER="3")
    with portal.starting():
        portal.start_web(workers=2, threads=4)
        # Restarted if it exits, as docker-compose.yml runs it: Celery 5.7's consumer may die when the
        # broker does while a task is in flight (kombu restores the unacknowledged message on a
        # connection already closed: AttributeError on its `client`, outside the errors it ignores).
        worker = portal.start_worker("worker", restart=True)
        data = portal.seed(customers=8, reviewers=1)
    customers = data["customers"]
    before = [file_request(portal, c) for c in customers[:4]]
    wait_until_reviewable(portal, before)
    reviewer = Client(portal.url)
    reviewer.login(data["reviewers"][0], admin=True)
    admin = Client(portal.url)
    admin.login(data["superuser"], admin=True)
    browsers = [Client(portal.url) for _ in customers[4:6]]
    for browser, customer in zip(browsers, customers[4:6], strict=True):
        browser.login(customer["email"])

    portal.redis.kill()  # kill -9: broker and cache gone, queued messages with them
    assert not portal.redis.ping()
    answers = {}
    for request_id in before:
        answers[f"approve #{request_id}"] = approve(reviewer, request_id)
    filed_by_form = []
    for browser, customer in zip(browsers, customers[4:6], strict=True):
        response = browser.form("/requests/new/", {**request_answers(customer["ips"][0]), "accept_aup": "on"})
        answers[f"form {customer['email']}"] = response.status_code
        if response.status_code == 302:
            filed_by_form.append(int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
        answers[f"port-25 page {customer['email']}"] = browser.get("/").status_code
    filed_by_api = []
    for customer in customers[6:8]:
        response = Client(portal.url, token=customer["token"]).file_request(customer["ips"][0])
        answers[f"API {customer['email']}"] = response.status_code
        if response.status_code == 201:
            filed_by_api.append(response.json()["id"])
    answers["API port25"] = Client(portal.url, token=customers[0]["token"]).get("/api/v1/port25/").status_code
    # What the operator sees meanwhile: the four approvals' changes, owed.
    owed = pending_in_admin(admin)
    assert owed == pending_ids(portal) and len(owed) == 4
    assert allowed(portal) == []

    portal.redis.start()  # same port, empty
    filed = filed_by_form + filed_by_api
    wait_until_reviewable(portal, filed, seconds=60)  # the checks sweep re-queued them
    everyone = sorted(ip for c in customers[:4] for ip in c["ips"])
    wait_for(lambda: allowed(portal) == everyone, 60, worker.output)  # the egress sweep applied them
    assert worker.alive()

    assert {key: answers[key] for key in answers if key.startswith("approve")} == {
        f"approve #{pk}": True for pk in before
    }, answers
    assert statuses(portal, before) == dict.fromkeys(before, "approved")
    for customer in customers[:4]:
        assert decisions(portal, customer["account"]) == [("blocked", "allowed", "request")]
    assert {row[2] for row in outbox(portal)} == {"applied"} and len(outbox(portal)) == 4
    assert pending_in_admin(admin) == set()
    assert not [row for row in outbox(portal) if row[3] > 0], "applied by the sweep, not after failed attempts"
    # The pages and forms never touched Redis; the API does (DRF's throttles read the cache).
    assert len(filed_by_form) == 2 and {v for k, v in answers.items() if k.startswith("port-25")} == {200}
    api_answers = {k: v for k, v in answers.items() if k.startswith("API")}
    expected = {**{f"API {c['email']}": 201 for c in customers[6:8]}, "API port25": 200}
    assert api_answers == expected


# --- PostgreSQL restarted under load ---------------------------------------------------------------------


@live
@pytest.mark.slow
def test_postgres_restarted_under_load_loses_no_decision_and_the_portal_recovers(deploy, cluster):
    portal = deploy("pg-restart", PORTAL_CHECK_STUCK_AFTER="3")
    with portal.starting():
        portal.start_web(workers=2, threads=4)
        worker = portal.start_worker("worker")
        data = portal.seed(customers=40, reviewers=1)
    customers = data["customers"]
    first = [file_request(portal, c) for c in customers[:8]]
    wait_until_reviewable(portal, first)
    reviewer = Client(portal.url, timeout=15)
    reviewer.login(data["reviewers"][0], admin=True)

    unused = iter(customers[8:])
    claim = threading.Lock()
    stop = threading.Event()
    log: list[tuple] = []  # (kind, started, status, id)
    filed: dict[int, int] = {}  # request -> account, for every 201
    approved: list[int] = []  # the reviewer saw it approved
    attempted: set[int] = set()  # the reviewer pressed Approve
    queue = list(first)

    def customer_loop() -> None:
        while not stop.is_set():
            with claim:
                customer = next(unused, None)
            if customer is None:
                return
            api = Client(portal.url, token=customer["token"], timeout=15)
            for kind in ("file", "port25"):
                started = time.monotonic()
                try:
                    response = api.file_request(customer["ips"][0]) if kind == "file" else api.get("/api/v1/port25/")
                except Exception:  # a connection refused or cut: recorded as status 0
                    log.append((kind, started, 0, None))
                    continue
                log.append((kind, started, response.status_code, None))
                if kind == "file" and response.status_code == 201:
                    filed[response.json()["id"]] = customer["account"]
            stop.wait(random.uniform(0.05, 0.2))  # a customer's pause between calls

    def reviewer_loop() -> None:
        """Approve, and read the page the browser is sent back to; after an error, try again later."""
        while not stop.is_set() and queue:
            request_id = queue.pop(0)
            attempted.add(request_id)
            page = None
            for kind in ("approve", "review page"):
                started = time.monotonic()
                try:
                    if kind == "approve":
                        response = reviewer.approve(request_id)
                    else:
                        response = page = reviewer.get(response.headers["Location"])
                except Exception:
                    log.append((kind, started, 0, request_id))
                    break
                log.append((kind, started, response.status_code, request_id))
                if response.status_code >= 400:
                    break
            # Approved now, or found approved by the retry (the first try's answer was lost).
            if page is not None and (APPROVED_MESSAGE in page.text or "now “Approved”" in page.text):
                approved.append(request_id)
            else:
                queue.append(request_id)
            stop.wait(0.3)  # the reviewer's pause

    def answered_since(moment: float) -> int:
        return sum(1 for _kind, started, status, _id in log if started > moment and 0 < status < 500)

    with ThreadPoolExecutor(5) as pool:
        jobs = [pool.submit(customer_loop) for _ in range(4)] + [pool.submit(reviewer_loop)]
        try:
            wait_for(lambda: answered_since(0) >= 10, 60, portal.output)  # the load is on
            restart_started = time.monotonic()
            cluster.postgres.restart()  # pg_ctl restart -m fast: every session cut, back on the same port
            restart_done = time.monotonic()
            # Enough work answered once the database was back, and enough decisions, before stopping.
            wait_for(lambda: answered_since(restart_done + 1) >= 10 and len(approved) >= 3, 120, portal.output)
        finally:
            stop.set()
        for job in jobs:
            job.result()

    # The portal answers again, and the worker went on.
    assert Client(portal.url, token=customers[0]["token"]).get("/api/v1/port25/").status_code == 200
    assert reviewer.get("/admin/requests_app/unblockrequest/").status_code == 200
    assert worker.alive()
    # Errors only while the database was away (an honest 500), none once it was back.
    late = [entry for entry in log if (entry[1] > restart_done + 1 and entry[2] >= 500) or entry[2] == 0]
    assert late == [], f"{late}\n{portal.output()}"
    during = sum(1 for entry in log if entry[2] >= 500 and restart_started - 1 < entry[1] <= restart_done + 1)
    print(f"\nPostgreSQL restart: {restart_done - restart_started:.1f} s, {len(log)} calls, {during} answered 5xx "
          f"meanwhile, {len(filed)} requests filed, {len(approved)} approvals")  # fmt: skip
    assert len(filed) >= 5 and len(approved) >= 3

    # No lost write, no lost decision, nothing stuck: the sweeps finish what the restart cut short.
    wait_for(lambda: set(statuses(portal, filed).values()) <= {"awaiting_review"}, 60, worker.output, step=0.3)
    assert dict(portal.sql("SELECT id, account_id FROM requests_app_unblockrequest WHERE id = ANY(%s)",
                           (list(filed),))) == filed  # fmt: skip
    approved_rows = dict(portal.sql("SELECT id, account_id FROM requests_app_unblockrequest WHERE status = 'approved'"))
    assert set(approved) <= set(approved_rows), "every approval the reviewer saw is recorded"
    assert set(approved_rows) <= attempted, "and no request approved that nobody approved"
    by_account = {c["account"]: c for c in customers}
    accounts = list(approved_rows.values())
    everyone = sorted(ip for account in accounts for ip in by_account[account]["ips"])
    wait_for(lambda: allowed(portal) == everyone, 60, worker.output)
    for account in accounts:
        assert decisions(portal, account) == [("blocked", "allowed", "request")]
    wait_for(lambda: {row[2] for row in outbox(portal)} == {"applied"}, 30, worker.output)
