"""scripts/run, on a copy of the project: the embedded default (SQLite, the broker's messages as files
under var/, no service to install) serves the portal and runs the pipeline in the background.

Seen from outside, as a customer's provider would: the portal is ready (/readyz) soon after the start,
and an abuse reporter's spam-trap hit posted to the running portal closes port 25 of the account on the
(simulated) firewall, within seconds. Finding 9 of the security probe, end to end: a torn message in the
file broker is set aside and logged while the worker goes on, and a worker that dies (kill -9) is started
again by scripts/run; then an abuse report still closes port 25. Ctrl-C stops it all.

The tests share one started copy (starting it takes most of their time), each with a demo account of its
own; the Ctrl-C test stops it, and a test after that would get a copy started anew.
"""

import os
import signal

import pytest

from accounts.management.commands.seed_demo import CUSTOMER_EMAIL
from tests.harnesses import embedded_default
from tests.harnesses.embedded_default import EmbeddedPortal
from tests.harnesses.live_services import wait_for
from tests.harnesses.live_stack import http_status

# A demo log-in of seed_demo_requests whose request was rejected: an account with an address of its own.
REJECTED_EMAIL = "rejected@demo.test"
TORN = b'{"body": "eyJ0YXNrIjogInJlcXVlc3RzX2FwcC50YXNrcy5zd2VlcF9zdHVja19jaGVja3MiLCAi", "head'


class EmbeddedDefault:
    """The module's copy of scripts/run, started on first use and again after a test stopped it."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.portal: EmbeddedPortal | None = None

    def running(self) -> EmbeddedPortal:
        if self.portal is None or self.portal.process.poll() is not None:
            if self.portal is not None:
                self.portal.kill_leftovers()
            self.portal = embedded_default.start(self.tmp_path_factory.mktemp("embedded"))
            self.portal.open_port_25([CUSTOMER_EMAIL, REJECTED_EMAIL])
        return self.portal


@pytest.fixture(scope="module")
def embedded_default_copy(tmp_path_factory):
    copy = EmbeddedDefault(tmp_path_factory)
    try:
        yield copy
    finally:
        if copy.portal is not None:
            copy.portal.kill_leftovers()


@pytest.fixture
def embedded_portal(embedded_default_copy) -> EmbeddedPortal:
    """`scripts/run` in a copy of the project (its own var/), sharing this checkout's virtualenv."""
    return embedded_default_copy.running()


@pytest.mark.slow
def test_a_spam_trap_report_to_the_embedded_default_closes_port_25_within_seconds(embedded_portal):
    portal = embedded_portal
    account = portal.accounts[CUSTOMER_EMAIL]
    # Ready soon after the start: scripts/run queues a reconciliation as the worker starts; beat's
    # own first one comes PORTAL_EGRESS_RECONCILE_SECONDS (10 minutes) later.
    wait_for(lambda: http_status(f"http://127.0.0.1:{portal.port}/readyz") == 200, 120, portal.explain)
    wait_for(lambda: portal.firewall_allows(account["ips"]) == set(account["ips"]), 30, portal.explain)

    answer = portal.report_spam_trap(account["ips"][0])
    wait_for(lambda: not portal.firewall_allows(account["ips"]), 30, portal.explain, step=0.05)

    assert answer[0] == 202 and answer[1]["status"] == "accepted"
    assert portal.desired_state(account["account"]) == "blocked"


@pytest.mark.slow
def test_a_torn_message_and_a_dead_worker_do_not_stop_the_pipeline(embedded_portal):
    portal = embedded_portal
    account = portal.accounts[REJECTED_EMAIL]
    var = portal.project / "var"
    wait_for(lambda: portal.firewall_allows(account["ips"]) == set(account["ips"]), 60, portal.explain)
    workers = wait_for(portal.celery_processes, 60, portal.explain)

    (var / "broker" / "0000000001_torn.celery.msg").write_bytes(TORN)
    wait_for(lambda: (var / "broker-torn" / "0000000001_torn.celery.msg").exists(), 60, portal.explain)
    assert b"cannot be read" in portal.celery_log.read_bytes()
    assert portal.celery_processes() == workers, "the worker read past it and lives on"

    ready = portal.celery_log.read_bytes().count(b" ready.")
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    restarted = wait_for(lambda: portal.celery_processes() - workers, 60, portal.explain)
    # Both workers (the main one with beat, the checks one) say so again once started anew.
    wait_for(lambda: portal.celery_log.read_bytes().count(b" ready.") >= ready + 2, 60, portal.explain)
    # A worker killed outright left its embedded beat behind, beside the new worker's: scripts/run kills it.
    assert portal.orphans() == set(), "every process in the copy is held by scripts/run"

    assert portal.report_spam_trap(account["ips"][0])[0] == 202
    wait_for(lambda: not portal.firewall_allows(account["ips"]), 60, portal.explain, step=0.05)
    assert b"the worker exited with status" in portal.celery_log.read_bytes()
    assert restarted.isdisjoint(workers)


@pytest.mark.slow
def test_ctrl_c_stops_scripts_run_the_server_and_the_workers(embedded_portal):
    assert len(embedded_portal.processes()) >= 3, "scripts/run, the server and the workers run in the copy"
    embedded_portal.stop()
    assert embedded_portal.processes() == [], "Ctrl-C stops the server and the workers"
