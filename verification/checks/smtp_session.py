"""A minimal SMTP client that keeps a transcript and never waits past its deadline.

smtplib rewrites addresses (the relay tricks must go out byte for byte) and
cannot bound a whole conversation, so the probe speaks the protocol itself.
"""

import contextlib
import socket
import ssl
from dataclasses import dataclass

from verification.outcome import Deadline

MAX_REPLY_LINES = 100
MAX_LINE = 2048


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
        self.sock = socket.create_connection((ip, port), timeout=deadline.cap(timeout))
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        for closable in (self.reader, self.sock):
            with contextlib.suppress(OSError):
                closable.close()

    def _read_line(self) -> str:
        if self.deadline.expired:
            raise TimeoutError("the probe ran out of time")
        self.sock.settimeout(self.deadline.cap(self.timeout))
        raw = self.reader.readline(MAX_LINE)
        if not raw:
            raise SessionClosed("connection closed by the server")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def read_reply(self) -> Reply:
        lines: list[str] = []
        for _ in range(MAX_REPLY_LINES):
            line = self._read_line()
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
        self.sock = context.wrap_socket(self.sock, server_hostname=server_name or None)
        self.reader = self.sock.makefile("rb")
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
