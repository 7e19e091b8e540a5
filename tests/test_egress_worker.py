"""Faults with real processes: a Celery worker killed mid-apply, a broker down at the moment of a decision.

The workers are `celery -A portal worker` subprocesses on the PostgreSQL test database and the
Redis broker that scripts/test starts; the decisions are committed for real (transactional_db).
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from egress.models import ChangeStatus, EgressChange, EgressSource, EgressState, SimulatedAllowance
from egress.services import set_desired_state
from tests.conftest import CUSTOMER_IPS, make_customer
from tests.egress_support import API_TOKEN, FakeNetworkAPI
from tests.harnesses.live_services import wait_for
from tests.loopback import free_port
from tests.parts import first_missing, missing, need_postgres, need_redis

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    missing(first_missing(need_redis(), need_postgres("a database the worker shares"))),
    pytest.mark.django_db(transaction=True),
]


def worker_database_url() -> str:
    """DATABASE_URL, pointed at the database pytest-django made (test_<name>)."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))


def process_env(targets: dict, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "PORTAL_EGRESS_TARGETS": json.dumps(targets),
        "PORTAL_EGRESS_SWEEP_SECONDS": "0.5",
        "PORTAL_EGRESS_RETRY_DELAY": "0.5",
        **extra,
    }


class Worker:
    def __init__(self, tmp_path: Path, name: str, env: dict[str, str], *, beat: bool, purge: bool) -> None:
        self.log = tmp_path / f"{name}.log"
        argv = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel=INFO", "--concurrency=1"]
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--hostname", f"{name}@%h"]
        if beat:  # the periodic sweep, every 0.5 s here
            argv += ["--beat", "--schedule", str(tmp_path / f"{name}-beat-schedule")]
        if purge:  # messages other tests left in the queue are not ours
            argv.append("--purge")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(lambda: b" ready." in self.log.read_bytes(), 30, self.output)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL to the worker and its pool: nothing gets to clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def workers(transactional_db, tmp_path):
    """Start workers; killed before the test database is flushed (a warm shutdown costs 2-3 s, and
    the messages a killed worker held stay unacknowledged for the broker's visibility timeout)."""
    started: list[Worker] = []

    def start(name: str, targets: dict, *, beat: bool = False, purge: bool = False) -> Worker:
        started.append(Worker(tmp_path, name, process_env(targets), beat=beat, purge=purge))
        return started[-1]

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def api():
    server = FakeNetworkAPI().start()
    yield server
    server.stop()


def test_a_worker_killed_mid_apply_ends_with_the_right_state_and_one_effect(settings, workers, api):
    targets = {"api": {"backend": "http", "url": api.url, "token": API_TOKEN, "timeout": 30}}
    settings.PORTAL_EGRESS_TARGETS = targets
    account = make_customer("kill@acme.test", "Acme", "vm-acme-1", CUSTOMER_IPS).membership.account
    first = workers("first", targets, purge=True)
    api.hang()  # the API takes the change, then holds the answer

    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="approved")
    assert api.hanging.wait(30), first.output()
    first.kill()
    api.release.set()

    change = EgressChange.objects.get()
    assert (change.status, change.attempts) == (ChangeStatus.PENDING, 0), "the killed worker's transaction is gone"
    assert api.effects == [str(change.key)]

    second = workers("second", targets, beat=True)
    wait_for(lambda: EgressChange.objects.get().status == ChangeStatus.APPLIED, 30, second.output)
    assert api.allowed == set(CUSTOMER_IPS)
    assert api.effects == [str(change.key)], "the retry carried the same key: one effect"
    assert len(api.posts()) >= 2
    assert {call.key for call in api.posts()} == {str(change.key)}


DECIDE_IN_ANOTHER_PROCESS = """
from accounts.models import Account
from egress.services import set_desired_state
set_desired_state(Account.objects.get(), "allowed", source="request", reason="approved while the broker was down")
"""


def test_a_decision_made_while_the_broker_is_down_is_applied_by_the_sweep(settings, workers):
    targets = {"default": {"backend": "simulated"}}
    settings.PORTAL_EGRESS_TARGETS = targets
    make_customer("broker@acme.test", "Acme", "vm-acme-1", CUSTOMER_IPS)

    # A web process whose broker is unreachable: nobody listens on that port.
    env = process_env(targets, PORTAL_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", DECIDE_IN_ANOTHER_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "broker unavailable" in result.stderr
    assert EgressChange.objects.get().status == ChangeStatus.PENDING
    assert not SimulatedAllowance.objects.exists()

    worker = workers("sweeper", targets, beat=True, purge=True)
    wait_for(lambda: EgressChange.objects.get().status == ChangeStatus.APPLIED, 30, worker.output)
    assert set(SimulatedAllowance.objects.values_list("ip", flat=True)) == set(CUSTOMER_IPS)
