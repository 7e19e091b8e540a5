"""A Django process with a command already imported that forks one child per run of it, so each run's
own memory peak is measured without paying the interpreter's and Django's start (2-4 s) every time.

The parent reads one JSON request a line on stdin and answers one a line on stdout. The child resets
its high-water mark right after the fork (Linux's /proc/self/clear_refs) and reports how far its
resident memory grew; the peak answered is the parent's resident memory at the fork (everything a
fresh `manage.py` would hold before its command runs, shared libraries included) plus that growth.
A shared page the child touches again counts twice: the figure errs above the child's own peak. The parent never
opens the database or the broker: each child makes its own connections, as `manage.py` does.
"""

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _kilobytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _child(argv: list[str], out: str, address_space: int, report: int) -> None:
    """Runs in the forked child and never returns."""
    code = 1
    try:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again at today's RSS
        start = _kilobytes("VmRSS")
        from django.core.management import execute_from_command_line

        try:
            execute_from_command_line(["manage.py", *argv])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        os.write(report, str(_kilobytes("VmHWM") - start).encode())
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve(app: str, command: str) -> None:
    import django

    django.setup()
    from django.core.management import load_command_class

    load_command_class(app, command)
    for line in sys.stdin:
        request = json.loads(line)
        baseline = _kilobytes("VmRSS")
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _child(request["argv"], request["out"], request["address_space"], write)
        os.close(write)
        _pid, status, _usage = os.wait4(pid, 0)
        with os.fdopen(read) as growth:
            grown = growth.read()
        answer = {"exit_code": os.waitstatus_to_exitcode(status), "peak_kb": baseline + int(grown or 0)}
        print(json.dumps(answer), flush=True)


@dataclass(frozen=True)
class Run:
    exit_code: int
    peak_mb: int


class PreloadedCommand:
    """`manage.py <command>` runs, each in its own forked child of one preloaded process."""

    def __init__(self, app: str, command: str, env: dict[str, str]) -> None:
        self.command = command
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, app, command],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, out: Path, address_space: int) -> Run:
        request = {"argv": [self.command, *args], "out": str(out), "address_space": address_space}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the preloaded process ended (status {self.process.wait()})")
        answer = json.loads(line)
        return Run(answer["exit_code"], answer["peak_kb"] // 1024)

    def close(self) -> None:
        self.process.stdin.close()  # the parent's end of its input: it leaves its loop
        self.process.stdout.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    _serve(*sys.argv[1:])
