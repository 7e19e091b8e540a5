"""Helpers of the egress tests: Celery tasks run inline, and a provider's network API on loopback."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from egress.models import EgressSource
from egress.services import set_desired_state
from portal.celery import app

API_TOKEN = "network-api-test-token"


@contextmanager
def eager_tasks() -> Iterator[None]:
    """Run `.delay()` inline (Celery's app reads its settings once, so the settings fixture cannot)."""
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def decide(django_capture_on_commit_callbacks):
    """Decide an account's port 25 and apply it to every target before returning."""

    def _decide(account, state, source=EgressSource.REQUEST, **options):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            set_desired_state(account, state, source=source, reason="test", **options)

    return _decide


@dataclass
class Call:
    method: str
    path: str
    key: str
    body: dict
    status: int = 0


class FakeNetworkAPI:
    """The API of docs/egress-http-api.md on 127.0.0.1. It records every call and fails on command:

    `fail(status)` answers without taking the change; `stall(seconds)` and `hang()` take the change,
    then answer late (or not before `release`), as a real API whose answer is lost would.
    """

    def __init__(self) -> None:
        self.allowed: set[str] = set()
        self.connections: dict[str, int] = {}  # the traffic counters it reports
        self.blocked: dict[str, int] = {}
        self.over_rate: set[str] = set()
        self.calls: list[Call] = []
        self.effects: list[str] = []  # keys whose change took effect, in order
        self.hanging = threading.Event()  # set while a request is held by `hang()`
        self.release = threading.Event()
        self._answers: dict[str, dict] = {}
        self._faults: list[tuple] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/port25"

    def start(self) -> "FakeNetworkAPI":
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def fail(self, status: int, times: int = 1) -> None:
        self._faults += [("status", status)] * times

    def stall(self, seconds: float, times: int = 1) -> None:
        self._faults += [("stall", seconds)] * times

    def hang(self) -> None:
        self._faults.append(("hang", None))

    def count(self, ip: str, connections: int, *, over_rate: bool = False) -> bool:
        """Traffic through this enforcement point: counted as allowed or blocked, as a firewall would."""
        allowed = ip in self.allowed
        counters = self.connections if allowed else self.blocked
        counters[ip] = counters.get(ip, 0) + connections
        (self.over_rate.add if over_rate else self.over_rate.discard)(ip)
        return allowed

    def reset_counters(self) -> None:
        self.connections, self.blocked, self.over_rate = {}, {}, set()

    def posts(self) -> list[Call]:
        return [call for call in self.calls if call.method == "POST"]

    def handle(self, method: str, path: str, headers, body: dict) -> tuple[int, dict]:
        call = Call(method, path, headers.get("Idempotency-Key", ""), body)
        with self._lock:
            self.calls.append(call)
            fault = self._faults.pop(0) if self._faults else ("none", None)
        if headers.get("Authorization") != f"Bearer {API_TOKEN}":
            call.status = 401
            return 401, {"error": "bad token"}
        if fault[0] == "status":
            call.status = fault[1]
            return fault[1], {"error": "failing on command"}
        if method == "GET" and path.endswith("/allowed"):
            answer = {"addresses": sorted(self.allowed)}
        elif method == "GET" and path.endswith("/counters"):
            answer = {"connections": self.connections, "blocked": self.blocked, "over_rate": sorted(self.over_rate)}
        elif method == "POST" and path.endswith("/changes"):
            if not call.key:
                call.status = 400
                return 400, {"error": "Idempotency-Key required"}
            with self._lock:
                if call.key not in self._answers:  # a replayed key gets the first answer, no new effect
                    self.allowed |= set(body["allow"])
                    self.allowed -= set(body["deny"])
                    self.effects.append(call.key)
                    self._answers[call.key] = {"applied": True}
                answer = self._answers[call.key]
        else:
            call.status = 404
            return 404, {"error": "no such endpoint"}
        if fault[0] == "stall":
            time.sleep(fault[1])
        elif fault[0] == "hang":
            self.hanging.set()
            self.release.wait(60)
        call.status = 200
        return 200, answer


def _handler(api: FakeNetworkAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            status, answer = api.handle(self.command, self.path, self.headers, body)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up waiting (a stalled answer): that is the point

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:
            pass

    return Handler
