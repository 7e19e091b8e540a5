"""Real Celery workers for the tests: `celery -A portal worker` subprocesses on the PostgreSQL test
database and the Redis broker that scripts/test starts.

`celery_workers` starts one or several for a test (several side by side: each costs 2-5 s of
imports). `SharedWorker` serves every test of a module with one worker and keeps the tests apart as
a worker of each test's own did: after a test it consumes from no queue, the test's tasks that wait
(reserved, or scheduled for later) are revoked, as a worker stopped after the test never ran them,
and the one running ends (else the worker is restarted); the queues are purged before the next test,
and each test reads only the log the worker wrote during it. What a worker keeps in its own memory
(its local cache) is the one thing a test shares with the module's earlier tests.
"""

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection

from tests.harnesses.live_services import log_tail, wait_for

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"default": {"backend": "simulated"}}
SETTLE_SECONDS = 15  # how long a test's last tasks may run on before its shared worker is restarted


def worker_env() -> dict[str, str]:
    """The environment of a process on the test database, as the worker fixtures set it."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return {
        **os.environ,
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        "PORTAL_EGRESS_TARGETS": json.dumps(TARGETS),
        "PORTAL_TASKS_EAGER": "false",
        "PORTAL_ABUSE_REVOKE_AFTER": "3",
        "PORTAL_ABUSE_WARN_AFTER": "1",
        "PORTAL_ABUSE_SWEEP_SECONDS": "1",
    }


def _start(log: Path, env: dict[str, str], options: tuple[str, ...]) -> subprocess.Popen:
    argv = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel=INFO", "--concurrency=2"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--purge", *options]
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGKILL to every worker's process group: the test is over, and nothing of a worker's shutdown is
    under test, while a warm one costs 2-3 s (a second to notice the signal, 1.5 s to stop the pool).
    The messages a killed worker held stay unacknowledged in Redis for the visibility timeout (an
    hour), so no later worker of the run receives them."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    for process in processes:
        process.wait(10)


def _ready(log: Path) -> str:
    """The worker's name once its log says it is ready (`abuse@host ready.`)."""
    found = re.search(rb"(\S+@\S+) ready\.", log.read_bytes())
    return found.group(1).decode() if found else ""


@contextmanager
def celery_workers(*workers: tuple[Path, dict[str, str], tuple[str, ...]]) -> Iterator[list[Path]]:
    """Workers (log, environment, options), started side by side in sessions of their own."""
    processes: list[subprocess.Popen] = []
    try:
        for log, env, options in workers:
            processes.append(_start(log, env, options))
        for log, _env, _options in workers:
            wait_for(lambda log=log: _ready(log), 30, log_tail(log))
        yield [log for log, _env, _options in workers]
    finally:
        _stop(processes)


@contextmanager
def celery_worker(log: Path, env: dict[str, str], *options: str) -> Iterator[Path]:
    """`celery -A portal worker` (and these options) in a session of its own, its output in `log`."""
    with celery_workers((log, env, options)) as (started,):
        yield started


class LogSince:
    """What a worker's log gained from `offset` on: the part one test of a shared worker reads."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path, self.offset = path, offset

    def exists(self) -> bool:
        return self.path.exists()

    def read_bytes(self) -> bytes:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            return log.read()

    def read_text(self, errors: str = "strict") -> str:
        return self.read_bytes().decode(errors=errors)


class SharedWorker:
    """One worker for a module's tests, each test served by `serving()`."""

    LISTS = ("active", "reserved", "scheduled")

    def __init__(self, folder: Path, env: dict[str, str], *options: str) -> None:
        self.folder, self.env, self.options = folder, env, options
        self.starts = 0
        self._start()

    def _start(self) -> None:
        from portal.celery import app

        self.starts += 1
        self.log = self.folder / f"worker-{self.starts}.log"
        self.process = _start(self.log, self.env, self.options)
        self.name = wait_for(lambda: _ready(self.log), 30, log_tail(self.log))
        self.control = app.control
        self.revoked: set[str] = set()
        queues = self.control.inspect(destination=[self.name], timeout=10, limit=1).active_queues()
        self.queues = [queue["name"] for queue in queues[self.name]]
        self._consume("cancel_consumer")  # until the first test

    def _consume(self, command: str) -> None:
        for queue in self.queues:
            self._broadcast(command, queue)

    def _broadcast(self, command: str, queue: str) -> None:
        answer = self.control.broadcast(
            command, arguments={"queue": queue}, destination=[self.name], reply=True, timeout=10, limit=1
        )
        assert answer, f"{self.name} did not answer {command} {queue}\n{log_tail(self.log)()}"

    def _settled(self) -> bool:
        """Whether no task runs; one waiting to (reserved, or scheduled for later) is revoked."""
        inspect = self.control.inspect(destination=[self.name], timeout=10, limit=1)
        active, reserved, scheduled = ((getattr(inspect, what)() or {}).get(self.name) for what in self.LISTS)
        if active is None or reserved is None or scheduled is None:
            return False  # no answer yet
        waiting = {task["id"] for task in reserved} | {task["request"]["id"] for task in scheduled}
        if waiting - self.revoked:
            self.control.revoke(list(waiting - self.revoked), destination=[self.name], reply=True, timeout=10, limit=1)
            self.revoked |= waiting
        return active == []

    @contextmanager
    def serving(self) -> Iterator[LogSince]:
        """Purged queues and the worker consuming them for a test; after it, none consumed and no task left to run."""
        self.control.purge()
        self._consume("add_consumer")
        try:
            yield LogSince(self.log, self.log.stat().st_size)
        finally:
            self._consume("cancel_consumer")
            try:
                wait_for(self._settled, SETTLE_SECONDS)
            except AssertionError:  # a task of this test still runs: not the next test's
                self.stop()
                self._start()

    def stop(self) -> None:
        _stop([self.process])
