"""A minimal SMTP client that keeps a transcript and never waits past its deadline.

smtplib rewrites addresses (the relay tricks must go out byte for byte) and
cannot bound a whole conversation, so the probe speaks the protocol itself.
Each reply must arrive within the per-reply timeout and the check's deadline,
however slowly its bytes come; at the deadline the socket is shut down.
"""

import contextlib
import socket
import ssl
from dataclasses import dataclass

from verification.checks.socket_deadline import SocketDeadline
from verification.outcome import Deadline

MAX_REPLY_LINES = 100
MAX_LINE = 2048
READ_SIZE = 4096


class SessionClosed(Exception):
    """The server closed the connection, or sent something that is not SMTP."""


@dataclass
class Reply:
    code: int
    lines: list[str]

    @property
    def text(self) -> str:
        return " / ".join(self.lines)

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 300


class SmtpSession:
    """One connection to one address; every command and reply goes into `transcript`."""

    def __init__(
        self, ip: str, port: int, *, timeout: float, deadline: Deadline, transcript: list[str] | None = None
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        # A caller that reconnects passes the same list, so the transcript covers every connection.
        self.transcript: list[str] = [] if transcript is None else transcript
        self.tls: dict | None = None
        self.guard = SocketDeadline(deadline)
        self.sock = self.guard.watch(socket.create_connection((ip, port), timeout=deadline.cap(timeout)))
        self.received = b""  # read from the socket, not yet taken as lines

    def close(self) -> None:
        self.guard.cancel()
        with contextlib.suppress(OSError):
            self.sock.close()

    def _read_line(self, reply: Deadline) -> str:
        """One line (at most MAX_LINE bytes) before the reply's deadline, however slowly it comes."""
        while (end := self.received.find(b"\n", 0, MAX_LINE)) < 0 and len(self.received) < MAX_LINE:
            if reply.expired or self.guard.passed:
                raise TimeoutError("the probe ran out of time")
            self.sock.settimeout(reply.cap(self.timeout))
            data = self.sock.recv(READ_SIZE)
            if not data:
                if self.guard.passed:
                    raise TimeoutError("the probe ran out of time")
                raise SessionClosed("connection closed by the server")
            self.received += data
        cut = end + 1 if end >= 0 else MAX_LINE
        line, self.received = self.received[:cut], self.received[cut:]
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def read_reply(self) -> Reply:
        """The next reply, all of it within the per-reply timeout and the check's deadline."""
        reply = Deadline(self.deadline.cap(self.timeout))
        lines: list[str] = []
        for _ in range(MAX_REPLY_LINES):
            line = self._read_line(reply)
            self.transcript.append(f"S: {line}")
            if len(line) < 3 or not line[:3].isdigit():
                raise SessionClosed(f"not an SMTP reply: {line[:80]!r}")
            lines.append(line[4:])
            if line[3:4] != "-":
                return Reply(int(line[:3]), lines)
        raise SessionClosed("reply too long")

    def command(self, text: str) -> Reply:
        self.transcript.append(f"C: {text}")
        self.sock.settimeout(self.deadline.cap(self.timeout))
        self.sock.sendall(text.encode("utf-8", "replace") + b"\r\n")
        return self.read_reply()

    def starttls(self, server_name: str) -> Reply:
        """Upgrade to TLS without judging the certificate (that is for a reviewer), recording what was offered."""
        reply = self.command("STARTTLS")
        if reply.code != 220:
            return reply
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(self.deadline.cap(self.timeout))
        self.received = b""  # what came before the handshake is not part of the TLS session
        # Watched before the handshake: a server can drip that too.
        self.sock = self.guard.watch(
            context.wrap_socket(self.sock, server_hostname=server_name or None, do_handshake_on_connect=False)
        )
        self.sock.do_handshake()
        self.tls = {"version": self.sock.version(), "cipher": (self.sock.cipher() or ("",))[0]}
        self.transcript.append(f"-- TLS established: {self.tls['version']} {self.tls['cipher']}")
        return reply


def extensions(ehlo: Reply) -> dict[str, str]:
    """EHLO keywords (upper case) and their parameters; the first line is the greeting."""
    found = {}
    for line in ehlo.lines[1:]:
        keyword, _, params = line.partition(" ")
        found[keyword.upper()] = params
    return found
