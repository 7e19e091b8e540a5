"""Real SMTP servers on loopback for the relay probe: aiosmtpd for the talkers, raw sockets for the misbehavers."""

import socket
import ssl
import threading
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from tests.loopback import free_port

LOCAL_DOMAIN = "acme-mail.example.org"
SERVER_NAME = f"mail.{LOCAL_DOMAIN}"


class OpenRelay:
    """Accepts every recipient: the default aiosmtpd behaviour, which is what makes it dangerous."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"


class ClosedRelay:
    """Accepts mail only for its own domain."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@" + LOCAL_DOMAIN):
            envelope.rcpt_tos.append(address)
            return "250 OK"
        return "550 5.7.1 Relaying denied"


class TrickRelay(ClosedRelay):
    """Closed to plain relaying, but falls for the %-hack and quoted local parts, as old sendmails did."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "%" in address or address.startswith('"'):
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


class RefusesEverySender(OpenRelay):
    """Would relay, but refuses every MAIL FROM: no relay attempt ever happens, so nothing can be concluded."""

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        return "501 5.1.7 Bad sender address syntax"


class Greylisting(ClosedRelay):
    """Answers every foreign recipient as a greylisting policy does, before deciding about relaying."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"450 4.2.0 <{address}>: Recipient address rejected: Greylisted for 120 seconds"


def _refuse_everyone(server, session, envelope, mechanism, auth_data) -> AuthResult:
    return AuthResult(success=False, handled=False)


class WholeReplies(SMTP):
    """Sends a multi-line reply in one write, as Postfix and Exim do.

    aiosmtpd writes each line on its own; nmap's SMTP library reads a reply per TCP segment,
    so the lines of one reply drift into the next and nmap's verdict changes from run to run.
    """

    async def push(self, status) -> None:
        line = status.encode() if isinstance(status, str) else status
        self._unsent = [*getattr(self, "_unsent", []), line]
        if line[3:4] == b"-":
            return
        self._writer.write(b"".join(part + b"\r\n" for part in self._unsent))
        self._unsent = []
        await self._writer.drain()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return WholeReplies(self.handler, **self.SMTP_kwargs)


@contextmanager
def smtp_server(handler, *, tls_context: ssl.SSLContext | None = None, auth_required: bool = False):
    """An aiosmtpd server on 127.0.0.1; yields its port."""
    port = free_port()
    options: dict = {"server_hostname": SERVER_NAME}
    if tls_context is not None:
        options["tls_context"] = tls_context
    if auth_required:
        options.update(auth_required=True, auth_require_tls=False, authenticator=_refuse_everyone)
    controller = _Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def raw_server(behaviour):
    """A TCP server on 127.0.0.1 that runs `behaviour(connection)` for each client; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(connection)
            threading.Thread(target=behaviour, args=(connection, stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()
        for connection in connections:
            connection.close()


def tarpit(connection: socket.socket, stop: threading.Event) -> None:
    """Greets, then never answers EHLO: a server that holds spammers (and the probe) forever."""
    connection.sendall(f"220 {SERVER_NAME} ESMTP\r\n".encode())
    stop.wait(30)


def dropper(connection: socket.socket, stop: threading.Event) -> None:
    """Greets, then hangs up at the first command."""
    connection.sendall(f"220 {SERVER_NAME} ESMTP\r\n".encode())
    try:
        connection.recv(1024)
    finally:
        connection.close()
