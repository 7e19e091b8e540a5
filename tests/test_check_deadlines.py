"""A server that drips its answer (one byte every few milliseconds, so no single read ever times
out) cannot hold a check past its deadline: the probe and the web fetch stop within it and close
their socket (issue 23, finding 4: one byte every 5 s held the check workers for hours)."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.check_fixtures import make_subject
from tests.smtp_servers import raw_server
from verification.checks import relay_probe, safe_http
from verification.outcome import Deadline, Verdict

pytestmark = pytest.mark.usefixtures("checks_env")

DRIP_SECONDS = 0.02  # between two bytes: far below any read timeout
MARGIN = 1.5  # seconds past the deadline within which the call returns and the server sees the close
HOLD = 60.0  # how long a drip lasts at most: the old code's reads would wait that long
# A TLS record of 16 KB holding a ServerHello of as much: the client waits for all of it.
SLOW_HANDSHAKE = b"\x16\x03\x03\x40\x00" + b"\x02\x00\x3f\xfc" + b"\x00" * 16380


class Drip:
    """A loopback server that sends `opening` at once, then one byte of `tail` every DRIP_SECONDS;
    `closed` is set when the client has closed the connection (a send fails, or a read sees EOF)."""

    def __init__(self, opening: bytes, tail: bytes, before_drip: Callable[[socket.socket], socket.socket] | None):
        self.opening, self.tail, self.before_drip = opening, tail, before_drip
        self.closed = threading.Event()

    def __call__(self, connection: socket.socket, stop: threading.Event) -> None:
        try:
            connection.sendall(self.opening)
            if self.before_drip is not None:
                connection = self.before_drip(connection)
            ends = time.monotonic() + HOLD
            while not stop.is_set() and time.monotonic() < ends:
                connection.sendall(self.tail[:1])
                self.tail = self.tail[1:] + self.tail[:1]
                stop.wait(DRIP_SECONDS)
        except OSError:
            self.closed.set()


@contextmanager
def drip_server(opening: bytes, tail: bytes, before_drip=None) -> Iterator[tuple[int, Drip]]:
    drip = Drip(opening, tail, before_drip)
    with raw_server(drip) as port:
        yield port, drip


def finishes_within(seconds: float, call: Callable[[], object]) -> object:
    """`call()`'s result, which must come within `seconds` (in a thread, so the old code's hang fails)."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert result, f"still waiting after {time.monotonic() - started:.1f} s"
    return result[0]


def probe(settings, port: int, deadline: float):
    settings.PORTAL_SMTP_PROBE_PORT = port
    return relay_probe.check(make_subject(), Deadline(deadline))


def test_a_dripped_greeting_ends_at_the_reply_timeout_and_the_socket_is_closed(settings):
    settings.PORTAL_SMTP_PROBE_TIMEOUT = 0.5
    with drip_server(b"", b"220-slow.example.net drip drip drip\r\n") as (port, drip):
        outcome = finishes_within(0.5 + MARGIN, lambda: probe(settings, port, 30.0))
        assert drip.closed.wait(MARGIN), "the probe left its socket open"
    assert outcome.verdict == Verdict.ERROR
    assert outcome.evidence["error"] == "it did not answer in time"


def test_a_dripped_reply_ends_at_the_checks_deadline_whatever_the_reply_timeout(settings):
    settings.PORTAL_SMTP_PROBE_TIMEOUT = 30.0
    long_line = b"250-slow.example.net " + b"x" * 2000 + b"\r\n"
    with drip_server(b"220 slow.example.net ESMTP\r\n", long_line) as (port, drip):
        outcome = finishes_within(1.0 + MARGIN, lambda: probe(settings, port, 1.0))
        assert drip.closed.wait(MARGIN), "the probe left its socket open"
    assert outcome.evidence["verdict"] == relay_probe.INCONCLUSIVE


def test_a_dripped_tls_handshake_ends_at_the_checks_deadline(settings):
    """STARTTLS accepted, then the handshake's bytes come one by one: the probe's own reads are not
    involved, the socket's shutdown at the deadline is."""
    settings.PORTAL_SMTP_PROBE_TIMEOUT = 30.0
    greeting = b"220 slow.example.net ESMTP\r\n"

    def after_starttls(connection: socket.socket) -> socket.socket:
        connection.recv(1024)  # EHLO
        connection.sendall(b"250-slow.example.net\r\n250 STARTTLS\r\n")
        connection.recv(1024)  # STARTTLS
        connection.sendall(b"220 go ahead\r\n")
        return connection

    with drip_server(greeting, SLOW_HANDSHAKE, after_starttls) as (port, drip):
        outcome = finishes_within(1.0 + MARGIN, lambda: probe(settings, port, 1.0))
        assert drip.closed.wait(MARGIN), "the probe left its socket open"
    assert outcome.verdict == Verdict.ERROR


def test_a_dripped_http_answer_ends_at_the_fetchs_deadline(settings):
    settings.PORTAL_HTTP_TIMEOUT = 30.0
    with drip_server(b"HTTP/1.1 200 OK\r\n", b"X-Slow: drip drip drip\r\n") as (port, drip):
        result = finishes_within(
            1.0 + MARGIN, lambda: safe_http.fetch(f"http://127.0.0.1:{port}/", deadline=Deadline(1.0))
        )
        assert drip.closed.wait(MARGIN), "the fetch left its socket open"
    assert result.problem == safe_http.TIMEOUT


def test_a_dripped_https_handshake_ends_at_the_fetchs_deadline(settings):
    settings.PORTAL_HTTP_TIMEOUT = 30.0
    with drip_server(b"", SLOW_HANDSHAKE) as (port, drip):
        result = finishes_within(
            1.0 + MARGIN, lambda: safe_http.fetch(f"https://127.0.0.1:{port}/", deadline=Deadline(1.0))
        )
        assert drip.closed.wait(MARGIN), "the fetch left its socket open"
    assert result.problem == safe_http.TIMEOUT
