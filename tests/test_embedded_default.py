"""scripts/run, on a copy of the project: the embedded default (SQLite, the broker's messages as files
under var/, no service to install) serves the portal and runs the pipeline in the background.

Seen from outside, as a customer's provider would: the portal is ready (/readyz) soon after the start,
and an abuse reporter's spam-trap hit posted to the running portal closes port 25 of the account on the
(simulated) firewall, within seconds.
"""

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.harnesses.live_services import ROOT, wait_for
from tests.harnesses.live_stack import clean_environ, http_status
from tests.loopback import free_port

# An account of the demo data with port 25 open, and a reporter's token: printed as JSON.
SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from abuse.models import Reporter, ReporterToken
from accounts.models import Account, ServerAddress
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state

account = Account.objects.filter(servers__addresses__isnull=False).distinct().first()
set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="embedded default test")
ServerAddress.objects.filter(server__account=account).update(assigned_at=timezone.now() - timedelta(days=30))
ips = sorted(ServerAddress.objects.filter(server__account=account).values_list("ip", flat=True))
token = ReporterToken.issue(reporter=Reporter.objects.create(name="spam trap"), name="test")[1]
print(json.dumps({"account": account.pk, "ips": ips, "token": token}))
"""


@dataclass
class EmbeddedPortal:
    project: Path
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen

    def stop(self) -> None:
        """Ctrl-C, as a person at the terminal: scripts/run's trap stops the server and the worker."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(90)  # the worker's warm shutdown is given 15 s, then killed

    def processes(self) -> list[int]:
        """What still runs in the copy of the project (by working directory): the server, the worker..."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).is_relative_to(self.project):
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found


@pytest.fixture
def embedded_portal(tmp_path):
    """`scripts/run` in a copy of the project (its own var/), sharing this checkout's virtualenv."""
    project = tmp_path / "portal"
    skip = shutil.ignore_patterns(".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, project, ignore=skip)
    (project / ".venv").symlink_to(ROOT / ".venv")
    port = free_port()
    log = tmp_path / "run.log"
    env = {**clean_environ(), "PORTAL_PORT": str(port)}
    with log.open("wb") as out:
        # Ctrl-C must reach scripts/run's trap even when pytest was started in the background of a
        # shell, which ignores SIGINT there (and a shell cannot trap a signal ignored at its start).
        process = subprocess.Popen(
            ["env", "--default-signal=INT", project / "scripts" / "run"], cwd=project, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    portal = EmbeddedPortal(project, port, env, log, process)
    try:
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, 180, log.read_text)
        yield portal
    finally:
        if process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                portal.stop()
        for pid in portal.processes():  # whatever a failed test left running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def firewall_allows(database: Path, ips: list[str]) -> set[str]:
    with sqlite3.connect(database, timeout=10) as db:
        rows = db.execute("SELECT ip FROM egress_simulatedallowance").fetchall()
    return {ip for (ip,) in rows} & set(ips)


@pytest.mark.slow
def test_a_spam_trap_report_to_the_embedded_default_closes_port_25_within_seconds(embedded_portal):
    project, port, env, log = embedded_portal.project, embedded_portal.port, embedded_portal.env, embedded_portal.log
    # Ready soon after the start: scripts/run queues a reconciliation as the worker starts; beat's
    # own first one comes PORTAL_EGRESS_RECONCILE_SECONDS (10 minutes) later.
    wait_for(lambda: http_status(f"http://127.0.0.1:{port}/readyz") == 200, 120, log.read_text)
    setup = subprocess.run(
        [project / ".venv" / "bin" / "python", "manage.py", "shell", "-c", SETUP],
        cwd=project, env={**env, "PORTAL_DEBUG": "1"}, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    account = json.loads(setup.stdout.strip().splitlines()[-1])
    database = project / "var" / "portal.sqlite3"
    wait_for(lambda: firewall_allows(database, account["ips"]) == set(account["ips"]), 30, log.read_text)

    report = {"source_ip": account["ips"][0], "category": "spamtrap", "time": datetime.now(UTC).isoformat()}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/abuse/reports/",
        data=json.dumps(report).encode(),
        headers={"Authorization": f"Bearer {account['token']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        answer = (response.status, json.load(response))
    wait_for(lambda: not firewall_allows(database, account["ips"]), 30, log.read_text, step=0.05)

    assert answer[0] == 202 and answer[1]["status"] == "accepted"
    with sqlite3.connect(database) as db:
        desired = db.execute("SELECT desired FROM egress_accountegress WHERE account_id = ?", [account["account"]])
        assert desired.fetchone() == ("blocked",)
    assert len(embedded_portal.processes()) >= 3, "scripts/run, the server and the worker run in the copy"
    embedded_portal.stop()
    assert embedded_portal.processes() == [], "Ctrl-C stops the server and the worker"
