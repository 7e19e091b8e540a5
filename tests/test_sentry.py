"""Errors go to Sentry when SENTRY_DSN is set, and nowhere when it is not.

Sentry itself cannot run here: its intake is played by an HTTP server on loopback that takes the
SDK's envelopes (POST /api/<project>/envelope/) as Sentry does. The portal runs in a process of its
own, because the SDK is set up when the settings load.
"""

import gzip
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent

# A task that fails in the worker: an enforcement target nobody configured.
FAILING_TASK = """
import django
django.setup()
import sentry_sdk
from egress.tasks import reconcile_target
reconcile_target.apply(args=["nowhere"])
print("active" if sentry_sdk.get_client().is_active() else "inactive")
sentry_sdk.flush(timeout=10)
"""


class SentryIntake:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, bytes]] = []
        intake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")  # brotli when installed, else gzip
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    body = brotli.decompress(body)
                intake.envelopes.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def dsn(self) -> str:
        return f"http://0123456789abcdef0123456789abcdef@127.0.0.1:{self.server.server_address[1]}/42"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_portal(tmp_path: Path, **env: str) -> str:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("PORTAL_", "SENTRY_", "DATABASE_URL"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        PORTAL_SECRET_KEY="sentry-test-key",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PORTAL_BROKER_URL="memory://",
        **env,
    )
    result = subprocess.run(
        [sys.executable, "-c", FAILING_TASK], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_a_failing_task_is_reported_to_sentry_when_a_dsn_is_set(tmp_path):
    intake = SentryIntake()
    try:
        assert run_portal(tmp_path, SENTRY_DSN=intake.dsn, SENTRY_ENVIRONMENT="ci-test") == "active"
    finally:
        intake.stop()
    assert intake.envelopes, "no envelope reached the intake"
    assert {path for path, _body in intake.envelopes} == {"/api/42/envelope/"}
    events = b"\n".join(body for _path, body in intake.envelopes)
    assert b"No egress target named 'nowhere'" in events
    assert b'"environment":"ci-test"' in events.replace(b" ", b"")
    assert b"sentry-test-key" not in events, "settings' secrets stay out of events"


def test_without_a_dsn_nothing_is_sent(tmp_path):
    assert run_portal(tmp_path) == "inactive"
