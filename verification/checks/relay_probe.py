"""Open-relay probe: would the mail server pass on mail for strangers? Never sends DATA.

An open relay is abused within hours of port 25 opening, so every trick that
old and misconfigured servers fall for is tried, each in its own transaction.
"""

import ipaddress
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from verification.checks import reverse_dns
from verification.checks.smtp_session import SessionClosed, SmtpSession, extensions
from verification.outcome import CheckSubject, Deadline, Outcome, Verdict
from verification.public_address import NonPublicAddress, public_addresses

OPEN, CLOSED, INCONCLUSIVE = "open", "closed", "inconclusive"


@dataclass
class Attempt:
    sender: str
    recipient: str
    mail_reply: str = ""
    code: int | None = None
    reply: str = ""
    accepted: bool = False


@dataclass
class ProbeReport:
    ip: str
    port: int
    verdict: str = INCONCLUSIVE
    banner: str = ""
    ehlo_name: str = ""
    starttls: bool = False
    tls: dict | None = None
    auth_before_tls: list[str] = field(default_factory=list)
    rdns: list[str] = field(default_factory=list)
    name_matches_rdns: bool | None = None
    attempts: list[Attempt] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def accepted(self) -> list[Attempt]:
        return [a for a in self.attempts if a.accepted]


def relay_attempts(ip: str, server_name: str, external: str) -> list[tuple[str, str]]:
    """(sender, recipient) pairs: plain relaying from every kind of sender, then the address tricks."""
    literal = f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"
    victim = f"relay-test@{external}"
    local_sender = f"postmaster@{literal}"
    return [
        ("", victim),
        (f"probe@{external}", victim),
        (f"postmaster@{server_name}", victim),
        (local_sender, victim),
        (local_sender, f"relay-test%{external}@{literal}"),
        (local_sender, f'"relay-test@{external}"'),
        (local_sender, f'"relay-test@{external}"@{literal}'),
        (local_sender, f"relay-test@{external}@{literal}"),
        (local_sender, f"@{literal}:relay-test@{external}"),
        (local_sender, f"{external}!relay-test"),
        (local_sender, f"{external}!relay-test@{literal}"),
    ]


def _greeting_name(text: str) -> str:
    return text.split(" ", 1)[0].strip().lower().rstrip(".") if text else ""


def probe(ip: str, port: int, *, server_name: str = "", deadline: Deadline | None = None) -> ProbeReport:
    """Talk to `ip` (already checked by the guard) and try to relay; the report says what happened."""
    deadline = deadline or Deadline(settings.PORTAL_SMTP_PROBE_DEADLINE)
    report = ProbeReport(ip=ip, port=port)
    try:
        report.rdns = reverse_dns.ptr_names(ip, reverse_dns.resolver_for(deadline))
    except reverse_dns.DNS_FAILURES:
        report.rdns = []
    session = None
    try:
        session = SmtpSession(ip, port, timeout=settings.PORTAL_SMTP_PROBE_TIMEOUT, deadline=deadline)
        _converse(session, report, server_name or (report.rdns[0] if report.rdns else ip))
    except (OSError, SessionClosed) as exc:
        report.error = _describe(exc)
    finally:
        if session is not None:
            report.transcript = session.transcript
            report.tls = session.tls
            session.close()
    if report.accepted:
        report.verdict = OPEN
    elif not report.error and any(a.code and a.code >= 500 for a in report.attempts):
        report.verdict = CLOSED
    names = {n for n in (_greeting_name(report.banner), report.ehlo_name) if n}
    if names and report.rdns:
        report.name_matches_rdns = bool(names & set(report.rdns))
    return report


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the server"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or exc.__class__.__name__


def _converse(session: SmtpSession, report: ProbeReport, server_name: str) -> None:
    banner = session.read_reply()
    report.banner = banner.text
    if banner.code != 220:
        report.error = f"the server refused the session: {banner.code} {banner.text}"
        return
    ehlo = session.command(f"EHLO {settings.PORTAL_SMTP_PROBE_HELO}")
    if not ehlo.positive:
        ehlo = session.command(f"HELO {settings.PORTAL_SMTP_PROBE_HELO}")
    report.ehlo_name = _greeting_name(ehlo.lines[0]) if ehlo.positive else ""
    offered = extensions(ehlo) if ehlo.positive else {}
    report.starttls = "STARTTLS" in offered
    report.auth_before_tls = offered.get("AUTH", "").split()
    for sender, recipient in relay_attempts(report.ip, server_name, settings.PORTAL_SMTP_PROBE_DOMAIN):
        attempt = Attempt(sender, recipient)
        report.attempts.append(attempt)
        mail = session.command(f"MAIL FROM:<{sender}>")
        attempt.mail_reply = f"{mail.code} {mail.text}"
        if mail.positive:
            rcpt = session.command(f"RCPT TO:<{recipient}>")
            attempt.code, attempt.reply, attempt.accepted = rcpt.code, rcpt.text, rcpt.positive
        else:
            attempt.code, attempt.reply = mail.code, mail.text
        if attempt.code == 421:
            report.error = "the server closed the session (421)"
            return
        session.command("RSET")
    if report.starttls and session.starttls(server_name).code == 220:
        session.command(f"EHLO {settings.PORTAL_SMTP_PROBE_HELO}")
    session.command("QUIT")


def check(subject: CheckSubject, deadline: Deadline) -> Outcome:
    ip = ipaddress.ip_address(subject.mail_server_ip).compressed
    port = settings.PORTAL_SMTP_PROBE_PORT
    try:
        public_addresses(ip)
    except NonPublicAddress:
        return Outcome(
            Verdict.FAIL,
            _("%(ip)s is not a public Internet address; give the public IP of your mail server.") % {"ip": ip},
            {"ip": ip, "refused": "not a public address"},
        )
    report = probe(ip, port, server_name=subject.mail_server_hostname, deadline=deadline)
    return outcome_of(report)


def outcome_of(report: ProbeReport) -> Outcome:
    """The customer's one-line answer for a probe report, worst finding first."""
    evidence = report.as_dict()
    where = {"ip": report.ip, "port": report.port}
    if report.verdict == OPEN:
        first = report.accepted[0]
        return Outcome(
            Verdict.FAIL,
            _(
                "Your mail server is an open relay: it accepted mail from %(sender)s to %(recipient)s, "
                "so anyone can send spam through it. Allow relaying only for authenticated users "
                "(e.g. Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
                "reject_unauth_destination), then re-run the checks."
            )
            % {"sender": first.sender or "<>", "recipient": first.recipient},
            evidence,
        )
    if report.verdict == INCONCLUSIVE:
        return Outcome(
            Verdict.ERROR,
            _(
                "We could not complete a test conversation with %(ip)s on port %(port)s (%(error)s). "
                "Make sure your mail server is running and reachable from the Internet, then re-run the checks."
            )
            % {**where, "error": report.error or _("no permanent refusal")},
            evidence,
        )
    if report.auth_before_tls:
        return Outcome(
            Verdict.WARN,
            _(
                "Your mail server refuses to relay (good), but offers passwords (AUTH) before encryption "
                "is started. Offer AUTH only after STARTTLS (e.g. Postfix: smtpd_tls_auth_only = yes)."
            ),
            evidence,
        )
    if not report.starttls:
        return Outcome(
            Verdict.WARN,
            _(
                "Your mail server refuses to relay (good), but does not offer STARTTLS: mail to it travels "
                "unencrypted. Configure a TLS certificate."
            ),
            evidence,
        )
    if report.name_matches_rdns is False:
        return Outcome(
            Verdict.WARN,
            _(
                "Your mail server refuses to relay (good), but greets as %(name)s while the reverse DNS of "
                "%(ip)s is %(rdns)s. Make the greeting name (e.g. Postfix myhostname) match the reverse DNS."
            )
            % {"name": report.ehlo_name or _greeting_name(report.banner), "ip": report.ip, "rdns": report.rdns[0]},
            evidence,
        )
    return Outcome(
        Verdict.PASS,
        _("Your mail server refuses to relay for strangers and offers STARTTLS."),
        evidence,
    )
