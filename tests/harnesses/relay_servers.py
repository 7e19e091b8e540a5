"""Every SMTP server the relay probe is held against: aiosmtpd fixtures and real Postfix and Exim.

Shared by tests/test_check_real_mtas.py and bench/relay_agreement.py. `NMAP_IS_WRONG` names the
cases where nmap's smtp-open-relay is known to answer wrongly, and why; there the probe must be right.
"""

import ssl
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.harnesses.real_mtas import (
    EXIM_CASES,
    POSTFIX_CASES,
    Case,
    EximServer,
    PostfixServers,
    exim_missing,
    postfix_missing,
)
from tests.smtp_servers import ClosedRelay, Greylisting, OpenRelay, TrickRelay, smtp_server

AIOSMTPD_CASES = (
    Case("aiosmtpd-open", "aiosmtpd", "open", "aiosmtpd accepting every recipient"),
    Case("aiosmtpd-closed", "aiosmtpd", "closed", "aiosmtpd refusing foreign recipients (550 5.7.1)"),
    Case("aiosmtpd-closed-tls", "aiosmtpd", "closed", "the same with STARTTLS", tls=True),
    Case("aiosmtpd-tricks", "aiosmtpd", "open", "aiosmtpd falling for the %-hack and quoted local parts"),
    Case("aiosmtpd-auth", "aiosmtpd", "closed", "aiosmtpd demanding authentication (530 5.7.0)"),
    Case("aiosmtpd-greylisting", "aiosmtpd", "inconclusive", "aiosmtpd greylisting every recipient (450 4.2.0)"),
)
ALL_CASES = AIOSMTPD_CASES + POSTFIX_CASES + EXIM_CASES
_NMAP_NO_STARTTLS = "nmap never tries STARTTLS: it reads '530 Must issue a STARTTLS command first' as authentication"
_NMAP_TEMPORARY = "nmap reads a temporary refusal (greylisting) as a refusal"
_NMAP_HUNG_UP = "Exim hangs up after three syntax errors (domain literals); nmap does not call again: no verdict"
NMAP_IS_WRONG = {
    "exim-default": _NMAP_HUNG_UP,
    "postfix-tls-only": _NMAP_NO_STARTTLS,
    "postfix-greylisting": _NMAP_TEMPORARY,
    "aiosmtpd-greylisting": _NMAP_TEMPORARY,
}


@dataclass(frozen=True)
class MatrixServer:
    case: Case
    port: int


def part_missing(case: Case) -> str | None:
    """What this case's server needs and is missing here, or None."""
    return {"postfix": postfix_missing, "exim": exim_missing}.get(case.software, lambda: None)()


def _aiosmtpd(stack: ExitStack, case: Case, tls: ssl.SSLContext) -> int:
    handlers = {
        "aiosmtpd-open": OpenRelay,
        "aiosmtpd-closed": ClosedRelay,
        "aiosmtpd-closed-tls": ClosedRelay,
        "aiosmtpd-tricks": TrickRelay,
        "aiosmtpd-auth": ClosedRelay,
        "aiosmtpd-greylisting": Greylisting,
    }
    options: dict = {"tls_context": tls} if case.tls else {}
    if case.name == "aiosmtpd-auth":
        options["auth_required"] = True
    return stack.enter_context(smtp_server(handlers[case.name](), **options))


@contextmanager
def relay_matrix(certificate: tuple[Path, Path], cases: tuple[Case, ...] = ALL_CASES) -> Iterator[dict]:
    """Start the servers of `cases` (one Postfix master for all Postfix cases); {name: MatrixServer}."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    servers: dict[str, MatrixServer] = {}
    with ExitStack() as stack:
        postfix_cases = tuple(c for c in cases if c.software == "postfix")
        if postfix_cases:
            postfix = PostfixServers(postfix_cases, certificate)
            stack.callback(postfix.stop)
            postfix.start()
            servers.update({c.name: MatrixServer(c, postfix.ports[c.name]) for c in postfix_cases})
        for case in cases:
            if case.software == "exim":
                exim = EximServer(case)
                stack.callback(exim.stop)
                servers[case.name] = MatrixServer(case, exim.start().port)
            elif case.software == "aiosmtpd":
                servers[case.name] = MatrixServer(case, _aiosmtpd(stack, case, tls))
        yield servers
