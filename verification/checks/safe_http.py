"""HTTP(S) GET of a customer-named URL that cannot be turned against the provider's network.

Every hop (the first URL and each redirect) goes through the guard, and the
connection goes to the address the guard checked, with the name kept only for
TLS (SNI, certificate) and the Host header: a second DNS answer changes nothing.
The whole fetch, DNS lookups included, ends at its deadline: the socket is shut
down then, however slowly the server sends (verification/checks/socket_deadline.py).
"""

import http.client
import socket
import ssl
from dataclasses import asdict, dataclass, field
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.hostnames import normalise_hostname
from verification import network_words
from verification.checks.socket_deadline import SocketDeadline
from verification.outcome import Deadline
from verification.public_address import (
    NonPublicAddress,
    ResolverUnavailable,
    UnresolvableHost,
    ip_literal,
    public_addresses,
)

USER_AGENT = "port25-portal-check/1.0 (+unblock request review)"
REFUSED, UNRESOLVABLE, DNS_UNAVAILABLE, TIMEOUT, CONNECT, TLS, REDIRECTS = (
    "refused",
    "unresolvable",
    "dns_unavailable",
    "timeout",
    "connect",
    "tls",
    "too_many_redirects",
)


@dataclass
class Hop:
    url: str
    ip: str = ""
    status: int | None = None
    location: str = ""


@dataclass
class Fetch:
    hops: list[Hop] = field(default_factory=list)
    problem: str = ""
    detail: str = ""  # in words, for the summary
    error: str = ""  # as the library said it, for staff

    @property
    def status(self) -> int | None:
        return self.hops[-1].status if self.hops else None

    def as_dict(self) -> dict:
        return asdict(self)


class Stopped(Exception):
    """The fetch (or the guard before it) stopped; `problem` says why, in one of the constants above."""

    def __init__(self, problem: str, detail: str, error: str = "") -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail
        self.error = error


def checked_address(host: str, deadline: Deadline | None = None) -> str:
    """The first address of `host` once the guard passed it; raises Stopped otherwise."""
    try:
        if ip_literal(host) is None:
            normalise_hostname(host)
        return str(public_addresses(host, deadline)[0])
    except ValidationError as exc:
        raise Stopped(REFUSED, " ".join(exc.messages)) from exc
    except NonPublicAddress as exc:
        raise Stopped(REFUSED, str(exc)) from exc
    except UnresolvableHost as exc:
        raise Stopped(UNRESOLVABLE, str(exc)) from exc
    except ResolverUnavailable as exc:
        raise Stopped(DNS_UNAVAILABLE, str(exc)) from exc


def _get(hop: Hop, deadline: Deadline) -> None:
    parts = urlsplit(hop.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Stopped(REFUSED, f"not a web address: {hop.url}")
    if parts.username or parts.password:
        raise Stopped(REFUSED, "addresses with a user name or password are not followed")
    hop.ip = checked_address(parts.hostname, deadline)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    timeout = deadline.cap(settings.PORTAL_HTTP_TIMEOUT)
    connection_class = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    connection = connection_class(parts.hostname, port, timeout=timeout)
    guard = SocketDeadline(deadline)
    try:
        sock = guard.watch(socket.create_connection((hop.ip, port), timeout=timeout))
        if secure:
            context = ssl.create_default_context()
            sock = guard.watch(
                context.wrap_socket(sock, server_hostname=parts.hostname, do_handshake_on_connect=False)
            )
            sock.do_handshake()
        connection.sock = sock
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        response = connection.getresponse()
        hop.status = response.status
        hop.location = response.getheader("Location", "")
        response.read(65536)
        if guard.passed:  # the shutdown ended the answer early: what was read is not the answer
            raise Stopped(TIMEOUT, network_words.in_words(TimeoutError()), "the fetch's deadline passed")
    except (OSError, http.client.HTTPException) as exc:
        raise _stopped(exc, deadline_passed=guard.passed) from exc
    finally:
        guard.cancel()
        connection.close()


def _stopped(exc: OSError | http.client.HTTPException, *, deadline_passed: bool) -> Stopped:
    """Why a GET failed; whatever fails once the deadline has shut the socket down is a timeout."""
    if deadline_passed or isinstance(exc, TimeoutError):
        return Stopped(TIMEOUT, network_words.in_words(TimeoutError()), network_words.raw(exc))
    if isinstance(exc, ssl.SSLError):
        return Stopped(TLS, network_words.in_words(exc), network_words.raw(exc))
    if isinstance(exc, OSError):
        return Stopped(CONNECT, network_words.in_words(exc), network_words.raw(exc))
    return Stopped(CONNECT, _("it did not answer as a web server does"), network_words.raw(exc))


def fetch(url: str, *, deadline: Deadline | None = None) -> Fetch:
    """GET `url`, following up to PORTAL_HTTP_MAX_REDIRECTS redirects, each one re-checked by the guard."""
    deadline = deadline or Deadline(settings.PORTAL_HTTP_TIMEOUT * (settings.PORTAL_HTTP_MAX_REDIRECTS + 1))
    result = Fetch()
    try:
        for _hop in range(settings.PORTAL_HTTP_MAX_REDIRECTS + 1):
            hop = Hop(url)
            result.hops.append(hop)
            _get(hop, deadline)
            if not (300 <= (hop.status or 0) < 400 and hop.location):
                return result
            url = urljoin(url, hop.location)
        raise Stopped(REDIRECTS, f"more than {settings.PORTAL_HTTP_MAX_REDIRECTS} redirects")
    except Stopped as stop:
        result.problem, result.detail, result.error = stop.problem, stop.detail, stop.error
    return result
