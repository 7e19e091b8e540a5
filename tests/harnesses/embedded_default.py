"""`scripts/run` on a copy of the project (its own var/, this checkout's virtualenv), as a person starts it,
seen from outside: its web server, its database file, its Celery workers, its Ctrl-C."""

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.harnesses.live_services import ROOT, wait_for
from tests.harnesses.live_stack import clean_environ, http_status
from tests.loopback import free_port

# Port 25 opened for each demo log-in of `EMAILS` (its addresses held for 30 days), and a reporter's
# token: printed as JSON.
SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from abuse.models import Reporter, ReporterToken
from accounts.models import Account, ServerAddress
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state

accounts = {}
for email in EMAILS:
    account = Account.objects.get(memberships__user__email=email)
    set_desired_state(account, EgressState.ALLOWED, source=EgressSource.STAFF, reason="embedded default test")
    ServerAddress.objects.filter(server__account=account).update(assigned_at=timezone.now() - timedelta(days=30))
    ips = sorted(ServerAddress.objects.filter(server__account=account).values_list("ip", flat=True))
    accounts[email] = {"account": account.pk, "ips": ips}
token = ReporterToken.issue(reporter=Reporter.objects.create(name="spam trap"), name="test")[1]
print(json.dumps({"accounts": accounts, "token": token}))
"""


@dataclass
class EmbeddedPortal:
    project: Path
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen
    # Per demo log-in its account's id and addresses (port 25 open), and the spam trap's reporter token.
    accounts: dict[str, dict] = field(default_factory=dict)
    token: str = ""

    @property
    def database(self) -> Path:
        return self.project / "var" / "portal.sqlite3"

    @property
    def celery_log(self) -> Path:
        return self.project / "var" / "celery.log"

    def explain(self) -> str:
        """What a failed wait shows: scripts/run's output and the end of the workers' log."""
        workers = self.celery_log.read_text(errors="replace")[-4000:] if self.celery_log.exists() else ""
        return self.log.read_text(errors="replace") + workers

    def stop(self) -> None:
        """Ctrl-C, as a person at the terminal: scripts/run's trap stops the server and the workers."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(90)  # the workers' warm shutdowns are given 15 s, then killed

    def processes(self) -> list[int]:
        """What still runs in the copy of the project (by working directory): the server, the workers..."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).is_relative_to(self.project):
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found

    def commands(self) -> dict[int, bytes]:
        """The command line of each process in the copy; celery may retitle its own: "[celeryd: …"."""
        found = {}
        for pid in self.processes():
            with contextlib.suppress(OSError):  # gone meanwhile
                found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
        return found

    def celery_processes(self) -> set[int]:
        """The workers' processes (main and pool; their embedded beat too where celery does not retitle it)."""
        return {pid for pid, command in self.commands().items() if b"celery" in command and b"worker" in command}

    def orphans(self) -> set[int]:
        """Processes in the copy that scripts/run no longer holds: their parent is not in the copy."""
        running = set(self.processes())
        found = set()
        for pid in running - {self.process.pid}:
            with contextlib.suppress(OSError):  # gone meanwhile
                parent = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
                if parent not in running:
                    found.add(pid)
        return found

    def firewall_allows(self, ips: list[str]) -> set[str]:
        """Which of `ips` the simulated firewall lets out on port 25."""
        with sqlite3.connect(self.database, timeout=10) as db:
            rows = db.execute("SELECT ip FROM egress_simulatedallowance").fetchall()
        return {ip for (ip,) in rows} & set(ips)

    def desired_state(self, account: int) -> str:
        with sqlite3.connect(self.database, timeout=10) as db:
            return db.execute("SELECT desired FROM egress_accountegress WHERE account_id = ?", [account]).fetchone()[0]

    def report_spam_trap(self, ip: str) -> tuple[int, dict]:
        """A spam-trap hit on `ip`, posted to the running portal as an abuse reporter does: (status, answer)."""
        report = {"source_ip": ip, "category": "spamtrap", "time": datetime.now(UTC).isoformat()}
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/abuse/reports/",
            data=json.dumps(report).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.load(response)

    def open_port_25(self, emails: list[str]) -> None:
        """SETUP in the copy, as a staff member would: port 25 of these demo accounts open."""
        code = f"EMAILS = {emails!r}\n{SETUP}"
        setup = subprocess.run(
            [self.project / ".venv" / "bin" / "python", "manage.py", "shell", "-c", code],
            cwd=self.project, env={**self.env, "PORTAL_DEBUG": "1"}, capture_output=True, text=True, check=True,
            timeout=120,
        )  # fmt: skip
        answer = json.loads(setup.stdout.strip().splitlines()[-1])
        self.accounts, self.token = answer["accounts"], answer["token"]

    def kill_leftovers(self) -> None:
        """Whatever a failed test left running in the copy."""
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.stop()
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def start(folder: Path) -> EmbeddedPortal:
    """`scripts/run` in a copy of the project under `folder`, once its web server answers."""
    project = folder / "portal"
    skip = shutil.ignore_patterns(".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, project, ignore=skip)
    (project / ".venv").symlink_to(ROOT / ".venv")
    port = free_port()
    log = folder / "run.log"
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
        wait_for(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, 180, portal.explain)
    except BaseException:
        portal.kill_leftovers()
        raise
    return portal
