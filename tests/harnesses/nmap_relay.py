"""nmap's smtp-open-relay script, the reference the relay probe is held against, and its verdict."""

import re
import subprocess
import time
from dataclasses import dataclass
from html import unescape

from tests.parts import need_commands

_SCRIPT_OUTPUT = re.compile(r'<script id="smtp-open-relay" output="([^"]*)"')


@dataclass(frozen=True)
class NmapRun:
    verdict: str  # open | closed | inconclusive
    output: str
    seconds: float


def nmap_missing() -> str | None:
    return need_commands(["nmap"], "apt-get install nmap")


def verdict_of(output: str) -> str:
    """nmap's words, in the probe's terms ("authentication needed" is nmap's closed)."""
    if output.startswith("Server is an open relay"):
        return "open"
    if "doesn't seem to be an open relay" in output or "isn't an open relay" in output:
        return "closed"
    return "inconclusive"


def run_nmap(port: int, domain: str, ip: str = "127.0.0.1") -> NmapRun:
    """`nmap -sT -Pn -p PORT --script +smtp-open-relay`: `+` runs the script whatever the port's number
    (its port rule knows only 25, 465 and 587 or a service that -sV detected)."""
    command = [
        "nmap", "-sT", "-Pn", "-n", "-p", str(port), "--script", "+smtp-open-relay",
        "--script-args", f"smtp-open-relay.domain={domain}", "-oX", "-", ip,
    ]  # fmt: skip
    started = time.monotonic()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    seconds = time.monotonic() - started
    found = _SCRIPT_OUTPUT.search(finished.stdout)
    output = unescape(found.group(1)).strip() if found else "(no script output)"
    return NmapRun(verdict_of(output), output, seconds)
