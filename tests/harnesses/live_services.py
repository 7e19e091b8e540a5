"""The servers and processes under the live stack (tests/harnesses/live_stack.py): what it needs, and its parts.

Whether the machine has what the production shape needs (PostgreSQL's server binaries, redis-server,
gunicorn), a `Service` (a process started in its own session, stopped or killed by its process
group), a throw-away PostgreSQL cluster of its own (`Postgres`) and a redis-server (`Redis`), and
the polling helpers the live tests wait with. Every process is started here and stopped (or
killed, on purpose) by its own PID / process group, nothing by name.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
DB_PASSWORD = "portal"


# --- what is needed, and whether it is here -------------------------------------------------


def pg_bin() -> Path | None:
    """PostgreSQL's bin folder: Debian's newest, else wherever initdb is on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def gunicorn_bin() -> str | None:
    return shutil.which("gunicorn", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))


def missing_for_stack(*, under_scripts_test: bool = True) -> str | None:
    """Why the live stack cannot run here (None when it can)."""
    if under_scripts_test and not os.environ.get("PORTAL_REDIS_URL"):
        return "needs scripts/test (PORTAL_REDIS_URL unset): it installs PostgreSQL and Redis and sets the environment"
    pg = pg_bin()
    if pg is None or not (pg / "pg_ctl").exists():
        return "initdb / pg_ctl not found (PostgreSQL server binaries)"
    if not shutil.which("redis-server"):
        return "redis-server not found"
    if not gunicorn_bin():
        return "gunicorn not found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a `postgres` OS user to run PostgreSQL as"
    return None


# --- small helpers ---------------------------------------------------------------------------


def wait_for(condition: Callable[[], object], seconds: float, explain: Callable[[], str] = str, step=0.1) -> object:
    """Poll `condition` until it is truthy (returned) or `seconds` pass (AssertionError with `explain()`)."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds} s\n{explain()}")
        time.sleep(step)


def log_tail(log: Path, chars: int = 4000) -> Callable[[], str]:
    """What `wait_for` (or a start-up that failed) shows: the end of a process's log, if it wrote one."""
    return lambda: log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Service:
    """A process started here in its own session, so that it and its children (gunicorn's workers,
    Celery's pool) form one process group, stopped or killed by that group's id.

    With `restart`, a process that exits by itself is started again, as docker-compose's
    `restart: unless-stopped` does; `restarts` counts those.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, *, restart: bool = False) -> None:
        self.name, self.log, self._argv, self._env = name, log, argv, env
        self.restarts = 0
        self._stopping, self._lock = threading.Event(), threading.Lock()
        self._start()
        if restart:
            threading.Thread(target=self._restart_when_it_exits, daemon=True).start()

    def _start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self._argv, cwd=ROOT, env=self._env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _restart_when_it_exits(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:  # not while `stop` or `kill` is under way
                if self.process.poll() is not None and not self._stopping.is_set():
                    self.restarts += 1
                    self._start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self, chars: int = 6000) -> str:
        try:
            return f"--- {self.name} ({self.log}) ---\n" + self.log.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return f"--- {self.name}: no log ---"

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL to the whole group: no clean-up, no acknowledgement, no rollback by the process."""
        with self._lock:
            self._stopping.set()
        self.signal_group(signal.SIGKILL)
        self.process.wait(15)

    def stop(self, timeout: float = 15) -> None:
        with self._lock:
            self._stopping.set()
        if self.alive():
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self.signal_group(signal.SIGKILL)  # stragglers of the group, if any
        if self.alive():
            self.process.wait(10)


# --- PostgreSQL ----------------------------------------------------------------------------


class Postgres:
    """A cluster of our own, so that restarting it hurts nobody else."""

    def __init__(self, folder: Path) -> None:
        self.bin = pg_bin()
        self.dir = folder / "pg"  # owned by the server's OS user; also its socket folder
        self.data = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_root:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, cwd=self.dir, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}\n{self.log_tail()}")
        return result

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except (FileNotFoundError, PermissionError):
            return ""

    def start(self) -> "Postgres":
        self.dir.mkdir(parents=True)
        if self.as_root:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# tests/harnesses/live_services.py: throw-away cluster\n"
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        self._pg_ctl("start")
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE portal LOGIN PASSWORD '{DB_PASSWORD}' CREATEDB")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", *extra, action)

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server comes back on the same port."""
        self._pg_ctl("restart", "-m", "fast")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def stop(self) -> None:
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            self._pg_ctl("stop", "-m", "fast")
        except (RuntimeError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def admin(self):
        import psycopg

        return psycopg.connect(host=str(self.dir), port=self.port, user="postgres", dbname="postgres", autocommit=True)

    def connect(self, database: str):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="portal", password=DB_PASSWORD, dbname=database, autocommit=True
        )

    def url(self, database: str) -> str:
        return f"postgres://portal:{DB_PASSWORD}@127.0.0.1:{self.port}/{database}"


# --- Redis ---------------------------------------------------------------------------------


class Redis:
    """redis-server in the foreground (its PID is ours), without persistence: a restart starts empty."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.port = free_port()
        self.service: Service | None = None
        self.starts = 0

    def start(self) -> "Redis":
        self.starts += 1
        argv = [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.dir)]  # fmt: skip
        self.service = Service("redis", argv, dict(os.environ), self.dir / "redis.log")
        wait_for(self.ping, 10, self.service.output)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        self.service.kill()

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop(5)

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"
