"""Finding 9 of the security probe, end to end on the embedded default (scripts/run on a copy of the
project): a torn message in the file broker is set aside and logged while the worker goes on, and a worker
that dies (kill -9) is started again by scripts/run; then an abuse report still closes port 25."""

import json
import os
import signal
import subprocess
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.harnesses.live_services import wait_for
from tests.test_embedded_default import SETUP, EmbeddedPortal, firewall_allows
from tests.test_embedded_default import embedded_portal as embedded_portal  # the fixture

TORN = b'{"body": "eyJ0YXNrIjogInJlcXVlc3RzX2FwcC50YXNrcy5zd2VlcF9zdHVja19jaGVja3MiLCAi", "head'


def celery_processes(portal: EmbeddedPortal) -> set[int]:
    found = set()
    for pid in portal.processes():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()  # celery may have retitled it: "[celeryd: …"
        except OSError:
            continue
        if b"celery" in command and b"worker" in command:
            found.add(pid)
    return found


def report_spam_trap(portal: EmbeddedPortal, ip: str, token: str) -> int:
    report = {"source_ip": ip, "category": "spamtrap", "time": datetime.now(UTC).isoformat()}
    request = urllib.request.Request(
        f"http://127.0.0.1:{portal.port}/api/v1/abuse/reports/",
        data=json.dumps(report).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.status


@pytest.mark.slow
def test_a_torn_message_and_a_dead_worker_do_not_stop_the_pipeline(embedded_portal):
    portal = embedded_portal
    project, log = portal.project, portal.log
    celery_log = project / "var" / "celery.log"
    explain = lambda: log.read_text() + celery_log.read_text(errors="replace")[-4000:]  # noqa: E731
    setup = subprocess.run(
        [project / ".venv" / "bin" / "python", "manage.py", "shell", "-c", SETUP],
        cwd=project, env={**portal.env, "PORTAL_DEBUG": "1"}, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    account = json.loads(setup.stdout.strip().splitlines()[-1])
    database = project / "var" / "portal.sqlite3"
    wait_for(lambda: firewall_allows(database, account["ips"]) == set(account["ips"]), 60, explain)
    workers = wait_for(lambda: celery_processes(portal), 60, explain)

    (project / "var" / "broker" / "0000000001_torn.celery.msg").write_bytes(TORN)
    wait_for(lambda: (project / "var" / "broker-torn" / "0000000001_torn.celery.msg").exists(), 60, explain)
    assert b"cannot be read" in celery_log.read_bytes()
    assert celery_processes(portal) == workers, "the worker read past it and lives on"

    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    restarted = wait_for(lambda: celery_processes(portal) - workers, 60, explain)
    wait_for(lambda: celery_log.read_bytes().count(b" ready.") >= 2, 60, explain)

    assert report_spam_trap(portal, account["ips"][0], account["token"]) == 202
    wait_for(lambda: not firewall_allows(database, account["ips"]), 60, explain, step=0.05)
    assert b"the worker exited with status" in celery_log.read_bytes()
    assert restarted.isdisjoint(workers)
