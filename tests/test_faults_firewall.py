"""Faults in the provider's firewall API, with real processes (tests/harnesses/live_stack.py runs the production
shape on loopback).

- the provider's firewall API failing and timing out for a while, then back;
- the same, pinned down without the live stack: a change the API took but whose answer was lost.

After it: no decision lost, no egress change missing or applied twice, and the admin showed what
was pending while the API was down. Everything is observed from outside, as an operator would:
HTTP against gunicorn, SQL against the database, the firewall's own record.
"""

import json
import time

import pytest

from egress.models import ChangeStatus, EgressChange, EgressSource, EgressState
from egress.outbox import apply_due
from egress.services import set_desired_state
from tests.egress_support import API_TOKEN, FakeNetworkAPI
from tests.harnesses.fault_support import (
    approve,
    decisions,
    file_request,
    live,
    outbox,
    pending_ids,
    pending_in_admin,
    wait_until_reviewable,
)
from tests.harnesses.live_services import wait_for
from tests.harnesses.live_stack import Client

# --- the provider's firewall API down for a while ---------------------------------------------------------


class FlakyNetworkAPI(FakeNetworkAPI):
    """The provider's API with an outage the test steps through: first it answers 503, then it takes
    changes but answers too late for the client (its timeout is 1 s), then it is well again. Keeps each
    change's body. Steps are set by the test, not by the clock, so a slow machine cannot shift them."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = "well"
        self.bodies: dict[str, dict] = {}
        self.failed_calls = 0
        self.stalled_changes = 0

    def handle(self, method: str, path: str, headers, body: dict) -> tuple[int, dict]:
        mode = self.mode
        if mode == "errors":
            self.failed_calls += 1
            return 503, {"error": "down for maintenance"}
        status, answer = super().handle(method, path, headers, body)
        if method == "POST" and status == 200:
            self.bodies.setdefault(headers.get("Idempotency-Key", ""), body)
        if mode == "stalls":
            self.failed_calls += 1
            self.stalled_changes += method == "POST"
            time.sleep(2)  # the change is taken; the answer comes after the client gave up
        return status, answer


@live
@pytest.mark.slow
def test_firewall_api_failing_then_back_every_change_applied_once_and_the_admin_showed_them(deploy):
    api = FlakyNetworkAPI().start()
    try:
        targets = {"api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 1}}
        portal = deploy("api-down", PORTAL_EGRESS_TARGETS=json.dumps(targets))
        with portal.starting():
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

        api.mode = "errors"
        for request_id in ids:
            assert approve(reviewer, request_id)
        # While it is down: every change owed, retried with backoff, the error on record and in the admin.
        wait_for(lambda: all(row[3] >= 1 and row[5] for row in outbox(portal)), 20, worker.output)
        assert {row[2] for row in outbox(portal)} == {"pending"}
        assert pending_in_admin(admin) == pending_ids(portal) and len(pending_ids(portal)) == 4
        page = admin.get("/admin/egress/egresschange/?status__exact=pending").text
        assert "503" in page
        assert api.allowed == set()

        api.mode = "stalls"  # changes taken, answers lost: the retries must not apply anything twice
        wait_for(lambda: api.stalled_changes >= 1, 60, worker.output)
        api.mode = "well"
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
            "api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 0.3}
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
