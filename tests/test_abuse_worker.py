"""End to end with a real Celery worker: complaints through the API revoke port 25 on the (simulated)
firewall within seconds; reinstatement opens it again. PostgreSQL and Redis as scripts/test starts them."""

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from abuse.models import AbuseReport, PolicyDecision, PolicyOutcome, Revocation
from abuse.revocations import reinstate
from accounts.models import ServerAddress
from egress.models import EgressSource, EgressState, SimulatedAllowance
from egress.services import set_desired_state
from tests.abuse_samples import report_json, reporter_with_token
from tests.conftest import CUSTOMER_IPS, make_customer
from tests.harnesses.celery_workers import TARGETS, LogSince, SharedWorker, worker_env
from tests.harnesses.live_services import log_tail, wait_for
from tests.loopback import free_port
from tests.parts import first_missing, missing, need_postgres, need_redis
from tests.review_fixtures import staff_in

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    missing(first_missing(need_redis(), need_postgres("a database the worker shares"))),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def shared_worker(django_db_setup, tmp_path_factory) -> Iterator[SharedWorker]:
    """`celery -A portal worker` with beat on the test database: it matches the reports this (the web)
    process received, weighs their accounts (3 complaints revoke, fewer warn), applies the firewall,
    and sweeps every second."""
    folder = tmp_path_factory.mktemp("abuse-worker")
    beat = ["--beat", "--schedule", str(folder / "beat-schedule")]
    worker = SharedWorker(folder, worker_env(), *beat, "--hostname", "abuse@%h")
    yield worker
    worker.stop()


@pytest.fixture
def worker(shared_worker, transactional_db, settings) -> Iterator[LogSince]:
    settings.PORTAL_EGRESS_TARGETS = TARGETS
    with shared_worker.serving() as log:
        yield log


def allowed() -> set[str]:
    return set(SimulatedAllowance.objects.values_list("ip", flat=True))


def test_complaints_revoke_on_the_firewall_within_seconds_and_reinstatement_reopens(worker, django_user_model):
    account = make_customer("spam@acme.test", "Acme", "vm-acme-1", CUSTOMER_IPS).membership.account
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="Request #1 approved.")
    wait_for(lambda: allowed() == set(CUSTOMER_IPS), 30, log_tail(worker))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")

    for number in (1, 2):
        assert api.post("/api/v1/abuse/reports/", report_json(number=number), format="json").status_code == 202
    wait_for(lambda: PolicyDecision.objects.filter(outcome=PolicyOutcome.WARN).exists(), 30, log_tail(worker))
    assert allowed() == set(CUSTOMER_IPS), "two complaints only warn"

    assert api.post("/api/v1/abuse/reports/", report_json(number=3), format="json").status_code == 202
    wait_for(lambda: not allowed(), 30, log_tail(worker))  # how fast: bench/revoke.py

    revocation = Revocation.objects.get()
    assert revocation.decision.reports.count() == 3
    desk = staff_in(django_user_model, "desk@provider.test", "Abuse desk")
    reinstate(revocation, desk, "The customer removed the compromised WordPress plugin.")
    wait_for(lambda: allowed() == set(CUSTOMER_IPS), 30, log_tail(worker))


def test_a_burst_is_taken_in_by_a_few_tasks_and_every_report_matched(worker, settings):
    # The reports (posted here, one by one) queue a take-in at most once a second: however slowly
    # this machine posts them, far fewer tasks than reports.
    settings.PORTAL_ABUSE_TAKE_IN_INTERVAL = 1.0
    accounts = [
        make_customer(f"c{i}@burst.test", f"Burst {i}", f"vm-burst-{i}", [f"203.0.113.{10 + i}"]).membership.account
        for i in range(3)
    ]
    ServerAddress.objects.update(assigned_at=timezone.now() - timedelta(days=1))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter_with_token()[1]}")
    burst = 30

    for number in range(burst):
        body = report_json(ip=f"203.0.113.{10 + number % 3}", number=number)
        assert api.post("/api/v1/abuse/reports/", body, format="json").status_code == 202
    wait_for(lambda: not AbuseReport.objects.waiting().exists(), 30, log_tail(worker))
    wait_for(lambda: take_in_tasks(worker, "received") == take_in_tasks(worker, "succeeded"), 30, log_tail(worker))

    assert [AbuseReport.objects.filter(account=a).count() for a in accounts] == [10, 10, 10]
    assert PolicyDecision.objects.count() == 3, "each account is flagged once (its port is not open)"
    tasks = take_in_tasks(worker, "succeeded")
    assert 0 < tasks < burst / 2, f"{tasks} take-in tasks ran for {burst} reports"


def take_in_tasks(log: LogSince, state: str) -> int:
    return len(re.findall(rf"abuse\.tasks\.take_in_reports\[[^]]+\] {state}", log.read_text()))


RECEIVE_IN_ANOTHER_PROCESS = """
from django.utils import timezone
from abuse import intake
from abuse.reports import ReportInput
report = ReportInput(category="spamtrap", source_ip="{ip}", occurred_at=timezone.now(), reference="trap-1")
intake.receive(report, raw=b"{{}}", channel="json", reporter=None)
"""


def test_a_report_received_while_the_broker_is_down_is_taken_in_by_the_sweep(worker):
    account = make_customer("trap@acme.test", "Acme", "vm-acme-1", CUSTOMER_IPS).membership.account
    ServerAddress.objects.update(assigned_at=timezone.now() - timedelta(days=1))
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="Request #1 approved.")
    wait_for(lambda: allowed() == set(CUSTOMER_IPS), 30, log_tail(worker))
    broker = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there: the web process's broker is down

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", RECEIVE_IN_ANOTHER_PROCESS.format(ip=CUSTOMER_IPS[0])],
        cwd=ROOT,
        env={**worker_env(), "PORTAL_BROKER_URL": broker},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "broker unavailable" in result.stderr
    wait_for(lambda: not allowed(), 30, log_tail(worker))  # the worker's sweep took it in, a second later
    assert AbuseReport.objects.get().account == account
