"""The services bench/revoke.py starts on loopback, and the CPU each of them spends.

PostgreSQL and Redis in a folder of their own, gunicorn and the Celery workers as docker-compose.yml
runs them; all stopped on exit, by their processes, with the folder removed by the caller.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"bench/revoke.py: {what} did not happen within {seconds} s")
        time.sleep(0.05)


class Services:
    """PostgreSQL, Redis, gunicorn and a Celery worker, all stopped (and their folder removed) on exit."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.processes, self.pg = folder, [], None
        self.pids: dict[str, int] = {}  # what the CPU figures name, by its top process

    def start_postgres(self) -> str:
        pgbin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        data, port = self.folder / "pg", free_port()
        data.mkdir()
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if as_pg:
            shutil.chown(data, "postgres")
            self.folder.chmod(0o755)
        subprocess.run([*as_pg, pgbin / "initdb", "-D", data / "data", "-U", "postgres", "--auth=trust"],
                       check=True, capture_output=True)  # fmt: skip
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=100"
        subprocess.run([*as_pg, pgbin / "pg_ctl", "-D", data / "data", "-o", options, "-l", data / "log", "-w",
                        "start"], check=True, capture_output=True)  # fmt: skip
        self.pg = [*as_pg, pgbin / "pg_ctl", "-D", data / "data", "-m", "fast", "-w", "stop"]
        self.pids["PostgreSQL"] = int((data / "data" / "postmaster.pid").read_text().split()[0])
        subprocess.run([pgbin / "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q", "-c",
                        "CREATE DATABASE bench"], check=True)  # fmt: skip
        return f"postgres://postgres@127.0.0.1:{port}/bench"

    def start_redis(self) -> str:
        port = free_port()
        self.pids["Redis"] = self.spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                         "--appendonly", "no"], "redis", os.environ)  # fmt: skip
        wait_until(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout
                   == b"PONG\n", 10, "Redis start")  # fmt: skip
        return f"redis://127.0.0.1:{port}/0"

    def start_gunicorn(self, port: int, workers: int, env: dict) -> None:
        argv = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                "portal.wsgi:application"]  # fmt: skip
        self.pids["gunicorn"] = self.spawn(argv, "gunicorn", env)
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 30, "gunicorn start")

    def start_celery(self, processes: int, env: dict) -> None:
        """As docker-compose.yml runs them: a worker for the firewall's queue alone, one for the rest."""
        argv = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel=WARNING", "--without-gossip",
                "--without-mingle", "--without-heartbeat"]  # fmt: skip
        self.pids["Celery"] = self.spawn([*argv, "-Q", "celery", f"--concurrency={processes}"], "celery", env)
        self.pids["Celery egress"] = self.spawn([*argv, "-Q", "egress", "--concurrency=1", "--hostname", "egress@%h"],
                                                "celery-egress", env)  # fmt: skip

    def spawn(self, argv: list, name: str, env: dict) -> int:
        log = (self.folder / f"{name}.log").open("wb")
        self.processes.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        return self.processes[-1].pid

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.pg:
            subprocess.run(self.pg, check=False, capture_output=True)


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) so far of each named process with its children (gunicorn's workers,
    Celery's pool, PostgreSQL's backends), and of this process: the clients and the firewall watch."""
    totals = dict.fromkeys(pids, 0.0)
    names = {str(pid): name for name, pid in pids.items()}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        name = names.get(entry.name) or names.get(fields[1])
        if name:  # with the children it reaped: PostgreSQL's backends end with their connections
            totals[name] += sum(map(int, fields[11:15] if entry.name in names else fields[11:13]))
    own = os.times()
    ticks = os.sysconf("SC_CLK_TCK")
    return {**{name: total / ticks for name, total in totals.items()}, "this client": own.user + own.system}


def settle(pids: dict[str, int]) -> None:
    """Wait until the Celery workers are idle (under 10 ms of CPU in 200 ms), a minute at most."""
    workers = {name: pid for name, pid in pids.items() if name.startswith("Celery")}
    started = time.monotonic()
    before = cpu_seconds(workers)
    while time.monotonic() - started < 60:
        time.sleep(0.2)
        now = cpu_seconds(workers)
        if all(now[name] - before[name] < 0.01 for name in workers):
            break
        before = now


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
            return response.status == 200
    except OSError:
        return False
