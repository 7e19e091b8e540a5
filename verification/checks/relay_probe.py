"""Open-relay probe: would the mail server pass on mail for strangers? Never sends DATA.

An open relay is abused within hours of port 25 opening, so every trick that old and
misconfigured servers fall for is tried (`relay_matrix`), each in its own transaction
(RSET between tries). What each reply means and what the attempts add up to is decided
in `relay_rules`; this module holds the conversation.
"""

import ipaddress
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from verification import network_words
from verification.checks import relay_rules, reverse_dns
from verification.checks.relay_matrix import relay_attempts
from verification.checks.relay_rules import ACCEPTED, INCONCLUSIVE, NEEDS_TLS, SENDER_REFUSED, SESSION_ENDED
from verification.checks.relay_summary import not_public, outcome_of
from verification.checks.smtp_session import SessionClosed, SmtpSession, extensions
from verification.outcome import CheckSubject, Deadline, Outcome
from verification.public_address import NonPublicAddress, public_addresses

OPEN, CLOSED = relay_rules.OPEN, relay_rules.CLOSED
# A server that hangs up (e.g. Exim after a few syntax errors) is called again, this many times at most.
MAX_CONNECTIONS = 6


@dataclass
class Attempt:
    sender: str
    recipient: str
    tls: bool = False
    mail_reply: str = ""
    code: int | None = None
    reply: str = ""
    outcome: str = ""
    reason: str = ""
    accepted: bool = False
    # The sender form the server refused earlier, replaced here by one it accepted.
    instead_of: str | None = None


@dataclass
class ProbeReport:
    ip: str
    port: int
    verdict: str = INCONCLUSIVE
    reason: str = ""
    decided_by: int | None = None
    banner: str = ""
    ehlo_name: str = ""
    starttls: bool = False
    tls: dict | None = None
    tls_pass: bool = False
    auth_before_tls: list[str] = field(default_factory=list)
    rdns: list[str] = field(default_factory=list)
    name_matches_rdns: bool | None = None
    attempts: list[Attempt] = field(default_factory=list)
    connections: int = 0
    transcript: list[str] = field(default_factory=list)
    error: str = ""  # in words
    error_raw: str = ""  # as the library said it, for staff

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def accepted(self) -> list[Attempt]:
        return [a for a in self.attempts if a.accepted]

    @property
    def deciding_attempt(self) -> Attempt | None:
        return self.attempts[self.decided_by] if self.decided_by is not None else None


def greeting_name(text: str) -> str:
    return text.split(" ", 1)[0].strip().lower().rstrip(".") if text else ""


class _Conversation:
    """The probe's connections to one server, reopened when the server hangs up between attempts."""

    def __init__(self, report: ProbeReport, deadline: Deadline) -> None:
        self.report = report
        self.deadline = deadline
        self.session: SmtpSession | None = None
        self.in_tls = False
        self.refused_senders: set[str] = set()
        self.good_sender: str | None = None

    def close(self) -> None:
        if self.session is not None:
            if self.session.tls:
                self.report.tls = self.session.tls
            self.session.close()
            self.session = None

    def open(self, tls: bool) -> None:
        """Connect, read the banner, EHLO (and STARTTLS then EHLO again when `tls`)."""
        self.close()
        if self.report.connections >= MAX_CONNECTIONS:
            raise SessionClosed(f"the server hung up {MAX_CONNECTIONS} times")
        self.report.connections += 1
        self.session = SmtpSession(
            self.report.ip,
            self.report.port,
            timeout=settings.PORTAL_SMTP_PROBE_TIMEOUT,
            deadline=self.deadline,
            transcript=self.report.transcript,
        )
        banner = self.session.read_reply()
        if banner.code != 220:
            raise SessionClosed(f"the server refused the session: {banner.code} {banner.text}")
        ehlo = self._ehlo()
        if self.report.connections == 1:
            self.report.banner = banner.text
            self.report.ehlo_name = greeting_name(ehlo.lines[0]) if ehlo.positive else ""
            offered = extensions(ehlo) if ehlo.positive else {}
            self.report.starttls = "STARTTLS" in offered
            self.report.auth_before_tls = offered.get("AUTH", "").split()
        self.in_tls = False
        if tls:
            self.start_tls()

    def _ehlo(self):
        ehlo = self.session.command(f"EHLO {settings.PORTAL_SMTP_PROBE_HELO}")
        return ehlo if ehlo.positive else self.session.command(f"HELO {settings.PORTAL_SMTP_PROBE_HELO}")

    def start_tls(self) -> None:
        reply = self.session.starttls(self.report.ehlo_name)
        if reply.code != 220:
            raise SessionClosed(f"STARTTLS refused: {reply.code} {reply.text}")
        self.report.tls = self.session.tls
        self._ehlo()
        self.in_tls = True

    def run(self, pairs: list[tuple[str, str]], *, tls: bool) -> None:
        """Every pair once; a hang-up between attempts costs a reconnection, a second one ends the pass."""
        for sender, recipient in pairs:
            attempt = Attempt(self._sender_for(sender), recipient, tls=tls)
            if attempt.sender != sender:
                attempt.instead_of = sender
            self.report.attempts.append(attempt)
            for retry in (False, True):
                try:
                    self._ready(tls)
                    self._try(attempt)
                    break
                except (OSError, SessionClosed) as exc:
                    self.close()
                    if retry or isinstance(exc, TimeoutError) or self.deadline.expired:
                        attempt.outcome, attempt.reason = SESSION_ENDED, describe(exc)
                        raise
            if attempt.outcome == SESSION_ENDED:
                raise SessionClosed(f"the server closed the session ({attempt.code})")

    def _ready(self, tls: bool) -> None:
        if self.session is None:
            self.open(tls)
        elif tls and not self.in_tls:
            self.start_tls()

    def _sender_for(self, sender: str) -> str:
        if sender in self.refused_senders and self.good_sender is not None:
            return self.good_sender
        return sender

    def _try(self, attempt: Attempt) -> None:
        session = self.session
        mail = session.command(f"MAIL FROM:<{attempt.sender}>")
        attempt.mail_reply = f"{mail.code} {mail.text}"
        reading = relay_rules.read_mail_reply(mail)
        if reading is None:
            self.good_sender = self.good_sender if self.good_sender is not None else attempt.sender
            rcpt = session.command(f"RCPT TO:<{attempt.recipient}>")
            attempt.code, attempt.reply = rcpt.code, rcpt.text
            reading = relay_rules.read_rcpt_reply(rcpt)
        else:
            attempt.code, attempt.reply = mail.code, mail.text
            if reading.outcome == SENDER_REFUSED:
                self.refused_senders.add(attempt.sender)
        attempt.outcome, attempt.reason = reading.outcome, reading.reason
        attempt.accepted = reading.outcome == ACCEPTED
        if reading.outcome == SESSION_ENDED:
            self.close()
            return
        try:
            session.command("RSET")
        except (OSError, SessionClosed):
            self.close()  # the next attempt reconnects

    def finish(self) -> None:
        """Say goodbye; when the server offers STARTTLS and we never used it, start it to record what it offers."""
        if self.session is None:
            return
        try:
            if self.report.starttls and not self.in_tls:
                self.start_tls()
            self.session.command("QUIT")
        except (OSError, SessionClosed):
            pass
        self.close()


def probe(ip: str, port: int, *, server_name: str = "", deadline: Deadline | None = None) -> ProbeReport:
    """Talk to `ip` (already checked by the guard) and try to relay; the report says what happened."""
    deadline = deadline or Deadline(settings.PORTAL_SMTP_PROBE_DEADLINE)
    report = ProbeReport(ip=ip, port=port)
    try:
        report.rdns = reverse_dns.ptr_names(ip, reverse_dns.resolver_for(deadline))
    except reverse_dns.DNS_FAILURES:
        report.rdns = []
    conversation = _Conversation(report, deadline)
    try:
        conversation.open(tls=False)
        name = greeting_name(report.banner) or server_name or (report.rdns[0] if report.rdns else "")
        pairs = relay_attempts(ip, name, settings.PORTAL_SMTP_PROBE_DOMAIN)
        conversation.run(pairs, tls=False)
        if any(a.outcome == NEEDS_TLS for a in report.attempts) and report.starttls:
            report.tls_pass = True
            conversation.run(pairs, tls=True)
        conversation.finish()
    except (OSError, SessionClosed) as exc:
        report.error, report.error_raw = describe(exc), network_words.raw(exc)
    finally:
        conversation.close()
    decision = relay_rules.decide(report.attempts, tls_pass_ran=report.tls_pass, error=report.error)
    report.verdict, report.decided_by, report.reason = decision.verdict, decision.deciding, decision.reason
    names = {n for n in (greeting_name(report.banner), report.ehlo_name) if n}
    if names and report.rdns:
        report.name_matches_rdns = bool(names & set(report.rdns))
    return report


def describe(exc: BaseException) -> str:
    """In words for the summary; the raw text is kept in the report's `error_raw`."""
    if isinstance(exc, SessionClosed):
        return str(exc) or _("the server hung up")
    return network_words.in_words(exc)


def check(subject: CheckSubject, deadline: Deadline) -> Outcome:
    ip = ipaddress.ip_address(subject.mail_server_ip).compressed
    try:
        public_addresses(ip)
    except NonPublicAddress:
        return not_public(ip)
    report = probe(ip, settings.PORTAL_SMTP_PROBE_PORT, server_name=subject.mail_server_hostname, deadline=deadline)
    return outcome_of(report)
