"""Faults, with real processes killed for real (tests/live_stack.py runs the production shape on loopback).

- a Celery worker `kill -9`ed in the middle of a request's checks, and in the middle of an egress apply;
- Redis killed while customers file requests and reviewers approve, then started again (empty);
- PostgreSQL restarted (`pg_ctl restart -m fast`) while customers and a reviewer keep working;
- the provider's firewall API failing and timing out for a while, then back.

After each: no request stuck, no decision lost, no egress change missing or applied twice, and the
admin showed what was pending while the part was down. Everything is observed from outside, as an
operator would: HTTP against gunicorn, SQL against the database, the firewall's own record.
"""

import json
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from egress.models import ChangeStatus, EgressChange, EgressSource, EgressState
from egress.outbox import apply_due
from egress.services import set_desired_state
from tests.egress_support import API_TOKEN, FakeNetworkAPI
from tests.live_stack import (
    Client,
    missing_for_stack,
    request_answers,
    shared_cluster,
    wait_for,
)
from tests.smtp_servers import raw_server, tarpit

MISSING = missing_for_stack()
live = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

APPROVED_MESSAGE = "port 25 is being opened"
CHANGE_ROW = re.compile(r"/admin/egress/egresschange/(\d+)/change/")


@pytest.fixture(scope="module")
def cluster(request):
    return shared_cluster(request.config)


@pytest.fixture
def deploy(cluster, check_zone):
    """Start a deployment (database, Redis, later gunicorn and workers); everything stops after the test."""
    portals = []

    def make(name: str, **env: str):
        portals.append(cluster.portal(name, check_zone.nameserver, **env))
        return portals[-1]

    yield make
    for portal in portals:
        portal.stop()


# --- what the tests look at -------------------------------------------------------------------


def status_of(portal, request_id: int) -> str:
    return portal.scalar("SELECT status FROM requests_app_unblockrequest WHERE id = %s", (request_id,))


def statuses(portal, ids) -> dict[int, str]:
    return dict(portal.sql("SELECT id, status FROM requests_app_unblockrequest WHERE id = ANY(%s)", (list(ids),)))


def wait_until_reviewable(portal, ids, seconds: float = 60) -> None:
    wanted = dict.fromkeys(ids, "awaiting_review")
    wait_for(lambda: statuses(portal, wanted) == wanted, seconds, portal.output, step=0.2)


def allowed(portal, target: str = "default") -> list[str]:
    rows = portal.sql("SELECT host(ip) FROM egress_simulatedallowance WHERE target = %s ORDER BY 1", (target,))
    return [ip for (ip,) in rows]


def outbox(portal) -> list[tuple]:
    """(target, account, status, attempts, key, last error) of every outbox row."""
    return portal.sql(
        "SELECT target, account_id, status, attempts, key::text, last_error FROM egress_egresschange ORDER BY id"
    )


def decisions(portal, account: int) -> list[tuple]:
    return portal.sql(
        "SELECT from_state, to_state, source FROM egress_egressdecision WHERE account_id = %s ORDER BY id", (account,)
    )


def file_request(portal, customer: dict) -> int:
    response = Client(portal.url, token=customer["token"]).file_request(customer["ips"][0])
    assert response.status_code == 201, response.text[:1000]
    return response.json()["id"]


def approve(reviewer: Client, request_id: int, *, follow: bool = True) -> bool:
    """The reviewer's Approve button; True when the page the browser lands on confirms it."""
    response = reviewer.approve(request_id)
    if response.status_code != 302:
        return False
    if not follow:
        return True
    return APPROVED_MESSAGE in reviewer.get(response.headers["Location"]).text


def pending_in_admin(admin: Client) -> set[int]:
    """The outbox rows the egress admin lists as pending (what an operator sees during an outage)."""
    page = admin.get("/admin/egress/egresschange/?status__exact=pending")
    assert page.status_code == 200, page.text[:2000]
    return {int(pk) for pk in CHANGE_ROW.findall(page.text)}


def pending_ids(portal) -> set[int]:
    return {pk for (pk,) in portal.sql("SELECT id FROM egress_egresschange WHERE status = 'pending'")}


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
            "api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 30, "retries": 0},
        }
        portal = deploy("kill-egress", PORTAL_EGRESS_TARGETS=json.dumps(targets))
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
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'egress_simulatedallowance' AND NOT l.granted"
        )
        wait_for(lambda: portal.scalar(waiting) > 0, 30, first.output)
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
        time.sleep(1)  # the orphaned database session ends without a commit
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


# --- Redis (broker and cache) killed while people work -------------------------------------------------


@live
@pytest.mark.slow
def test_redis_killed_while_customers_file_and_reviewers_approve_nothing_is_lost(deploy):
    portal = deploy("redis-down", PORTAL_CHECK_STUCK_AFTER="3")
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
            time.sleep(random.uniform(0.05, 0.2))

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
            time.sleep(0.3)

    with ThreadPoolExecutor(5) as pool:
        jobs = [pool.submit(customer_loop) for _ in range(4)] + [pool.submit(reviewer_loop)]
        time.sleep(1.5)
        restart_started = time.monotonic()
        cluster.postgres.restart()  # pg_ctl restart -m fast: every session cut, back on the same port
        restart_done = time.monotonic()
        time.sleep(4)
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


# --- the provider's firewall API down for a while ---------------------------------------------------------


class FlakyNetworkAPI(FakeNetworkAPI):
    """The provider's API with an outage: first it answers 503, then it takes changes but answers too
    late for the client (its timeout is 1 s), then it is well again. Keeps each change's body."""

    def __init__(self) -> None:
        super().__init__()
        self.errors_until = self.stalls_until = 0.0
        self.bodies: dict[str, dict] = {}
        self.failed_calls = 0

    def outage(self, errors: float, stalls: float) -> None:
        now = time.monotonic()
        self.errors_until, self.stalls_until = now + errors, now + errors + stalls

    def handle(self, method: str, path: str, headers, body: dict) -> tuple[int, dict]:
        now = time.monotonic()
        if now < self.errors_until:
            self.failed_calls += 1
            return 503, {"error": "down for maintenance"}
        status, answer = super().handle(method, path, headers, body)
        if method == "POST" and status == 200:
            self.bodies.setdefault(headers.get("Idempotency-Key", ""), body)
        if now < self.stalls_until:
            self.failed_calls += 1
            time.sleep(2)  # the change is taken; the answer comes after the client gave up
        return status, answer


@live
@pytest.mark.slow
def test_firewall_api_failing_then_back_every_change_applied_once_and_the_admin_showed_them(deploy):
    api = FlakyNetworkAPI().start()
    try:
        targets = {"api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 1, "retries": 0}}
        portal = deploy("api-down", PORTAL_EGRESS_TARGETS=json.dumps(targets))
        portal.start_web(workers=1, threads=4)
        worker = portal.start_worker("worker")
        data = portal.seed(customers=4, reviewers=1)
        customers = data["customers"]
        ids = [file_request(portal, c) for c in customers]
        wait_until_reviewable(portal, ids)
        reviewer = Client(portal.url)
        reviewer.login(data["reviewers"][0], admin=True)
        admin = Client(portal.url)
        admin.login(data["superuser"], admin=True)

        api.outage(errors=3, stalls=4)
        for request_id in ids:
            assert approve(reviewer, request_id)
            time.sleep(0.3)
        # While it is down: every change owed, retried with backoff, the error on record and in the admin.
        wait_for(lambda: all(row[3] >= 1 and row[5] for row in outbox(portal)), 20, worker.output)
        assert {row[2] for row in outbox(portal)} == {"pending"}
        assert pending_in_admin(admin) == pending_ids(portal) and len(pending_ids(portal)) == 4
        page = admin.get("/admin/egress/egresschange/?status__exact=pending").text
        assert "503" in page or "timed out" in page
        assert api.allowed == set()

        wait_for(lambda: {row[2] for row in outbox(portal)} == {"applied"}, 60, worker.output)
    finally:
        api.stop()

    everyone = {ip for c in customers for ip in c["ips"]}
    assert api.allowed == everyone
    assert pending_in_admin(admin) == set()
    assert api.failed_calls > 0
    # Once: each change the API took had its own key, never taken twice ...
    assert len(api.effects) == len(set(api.effects))
    # ... and no account's addresses were sent as a new change after the API had taken them.
    taken = {}
    for key in api.effects:
        for ip in api.bodies[key]["allow"]:
            taken.setdefault(ip, []).append(key)
    twice = {ip: keys for ip, keys in taken.items() if len(keys) > 1}
    print(f"\nfirewall API outage: {api.failed_calls} calls failed or timed out, {len(api.effects)} changes taken "
          f"for {len(customers)} decisions, {len(api.posts())} POSTs in all")  # fmt: skip
    assert twice == {}, twice
    for customer in customers:
        assert decisions(portal, customer["account"]) == [("blocked", "allowed", "request")]


# --- the same, pinned down: a change whose answer was lost is retried under its own key --------------------


@pytest.mark.django_db
def test_a_change_the_api_took_but_whose_answer_was_lost_is_not_applied_again_in_a_bigger_batch(
    settings, account, other_customer
):
    """Two decisions, each taken by the API whose answer then came too late; when both are due again
    they used to be retried together, under a new key, and the API applied both a second time."""
    api = FakeNetworkAPI().start()
    try:
        settings.PORTAL_EGRESS_TARGETS = {
            "api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 0.3, "retries": 0}
        }
        settings.PORTAL_EGRESS_RETRY_DELAY = 0.5
        api.stall(0.6, times=2)  # takes the change, answers after the client gave up
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
        assert apply_due("api").retry_in == pytest.approx(0.5)
        set_desired_state(other_customer.membership.account, EgressState.ALLOWED, source=EgressSource.REQUEST,
                          reason="approved")  # fmt: skip
        assert apply_due("api").retry_in == pytest.approx(0.5), "the first change is not due yet"
        first, second = EgressChange.objects.order_by("id")
        assert api.effects == [str(first.key), str(second.key)]

        time.sleep(0.6)  # both due again; the API answers in time now
        assert apply_due("api").applied == 2
    finally:
        api.stop()
    assert api.effects == [str(first.key), str(second.key)], "each retry carried its own key: nothing applied twice"
    assert {call.key for call in api.posts()} == {str(first.key), str(second.key)}
    assert set(EgressChange.objects.values_list("status", flat=True)) == {ChangeStatus.APPLIED}
