"""The relay probe's rules, in one place: what one SMTP reply means, and what the attempts add up to.

A reply is read by its code, its enhanced status code (RFC 3463) and its text, because real
servers refuse relaying with 4xx as well as 5xx (Postfix's default answers
`454 4.7.1 ... Relay access denied`), and ask for TLS or authentication with the same 530.
"""

import re
from dataclasses import dataclass

from verification.checks.smtp_session import Reply

OPEN, CLOSED, INCONCLUSIVE = "open", "closed", "inconclusive"

# What one attempt (MAIL FROM + RCPT TO) came to.
ACCEPTED = "accepted"  # the server took the foreign recipient: it relays
REFUSED = "refused"  # a relay refusal, authentication required, or another permanent refusal
NEEDS_TLS = "needs_tls"  # the server asked for encryption first: the attempt is repeated inside TLS
TEMPORARY = "temporary"  # greylisting or another temporary failure: nothing learnt
SENDER_REFUSED = "sender_refused"  # MAIL FROM refused (e.g. its syntax): the attempt did not happen
SESSION_ENDED = "session_ended"  # 421 or the connection dropped: the attempt did not finish

_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_TLS_WORDS = re.compile(r"starttls|\btls\b|\bssl\b|encrypt", re.IGNORECASE)
_AUTH_WORDS = re.compile(r"auth", re.IGNORECASE)
_RELAY_WORDS = re.compile(
    r"relay|not permitted|not allowed|denied|unauthori[sz]ed|not local|not hosted|not accepted|no such domain",
    re.IGNORECASE,
)
# The addresses a reply quotes back (ours contain "relay") say nothing about relaying.
_ADDRESS = re.compile(r"<[^>]*>|\S+@\S+")
_WAIT = re.compile(r"(\d+)\s*(seconds?|secs?|s\b|minutes?|mins?|m\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    """What a reply means for the probe, and why (shown in the report)."""

    outcome: str
    reason: str


def enhanced_status(text: str) -> str:
    """The RFC 3463 status code a reply's text starts with (`4.7.1`), or ''."""
    match = _STATUS.match(text)
    return ".".join(match.groups()) if match else ""


def _words(reply: Reply) -> str:
    """The reply's text without the addresses it quotes back."""
    return _ADDRESS.sub("", reply.text)


def _asks_for_tls(reply: Reply) -> bool:
    status = enhanced_status(reply.text)
    tls_code = reply.code == 530 or status in ("5.7.0", "5.7.10", "5.7.11", "4.7.0")
    return bool(_TLS_WORDS.search(_words(reply))) and (tls_code or "starttls" in _words(reply).lower())


def read_mail_reply(reply: Reply) -> Reading | None:
    """The meaning of a refused MAIL FROM, or None when the sender was accepted."""
    if reply.positive:
        return None
    if _asks_for_tls(reply):
        return Reading(NEEDS_TLS, "the server asks for STARTTLS first")
    if reply.code == 421:
        return Reading(SESSION_ENDED, "the server is closing the session (421)")
    if reply.code == 530 or (_AUTH_WORDS.search(_words(reply)) and enhanced_status(reply.text).startswith("5.7")):
        return Reading(REFUSED, "authentication required")
    if 400 <= reply.code < 500:
        return Reading(TEMPORARY, _temporary_reason(reply))
    return Reading(SENDER_REFUSED, "the server refused the sender, not the relaying: this attempt did not happen")


def read_rcpt_reply(reply: Reply) -> Reading:
    """The meaning of the reply to RCPT TO with a foreign recipient."""
    if reply.positive:
        return Reading(ACCEPTED, "the server accepted a recipient it must not relay to")
    if _asks_for_tls(reply):
        return Reading(NEEDS_TLS, "the server asks for STARTTLS first")
    if reply.code == 421:
        return Reading(SESSION_ENDED, "the server is closing the session (421)")
    if reply.code == 530 or (_AUTH_WORDS.search(_words(reply)) and enhanced_status(reply.text)[2:3] == "7"):
        return Reading(REFUSED, "authentication required")
    if _RELAY_WORDS.search(_words(reply)):
        return Reading(REFUSED, "relaying refused")
    if 400 <= reply.code < 500:
        return Reading(TEMPORARY, _temporary_reason(reply))
    return Reading(REFUSED, "recipient refused permanently")


def _temporary_reason(reply: Reply) -> str:
    if re.search(r"gr[ae]y", _words(reply), re.IGNORECASE):
        return "greylisted: a temporary refusal, not an answer about relaying"
    return "a temporary failure, not an answer about relaying"


def retry_after_seconds(text: str, default: int) -> int:
    """How long a greylisting server asks us to wait, when its reply says so; else `default`."""
    match = _WAIT.search(_ADDRESS.sub("", text))
    if not match:
        return default
    amount, unit = int(match.group(1)), match.group(2).lower()
    return amount * 60 if unit.startswith("m") else amount


@dataclass(frozen=True)
class Decision:
    verdict: str
    deciding: int | None  # index of the attempt that decided it, if one did
    reason: str


def decide(attempts: list, *, tls_pass_ran: bool, error: str) -> Decision:
    """The probe's verdict from its attempts (objects with `.outcome` and `.tls`).

    - any accepted attempt: open (whatever else happened);
    - an attempt that asked for TLS is replaced by the attempts made inside TLS; without them,
      inconclusive;
    - a conversation cut short (`error`): inconclusive;
    - among the attempts that happened, any temporary failure: inconclusive (greylisting tells
      nothing about relaying);
    - otherwise every attempt that happened was refused: closed.
    """
    for index, attempt in enumerate(attempts):
        if attempt.outcome == ACCEPTED:
            return Decision(OPEN, index, "an attempt was accepted")
    asked_for_tls = any(a.outcome == NEEDS_TLS and not a.tls for a in attempts)
    if asked_for_tls and not tls_pass_ran:
        return Decision(INCONCLUSIVE, None, error or "the server asks for TLS, but TLS could not be started")
    if error:
        return Decision(INCONCLUSIVE, None, error)
    happened = [(i, a) for i, a in enumerate(attempts) if a.outcome not in (NEEDS_TLS, SENDER_REFUSED)]
    if not happened:
        return Decision(INCONCLUSIVE, None, "the server refused every sender, so no relay attempt happened")
    for index, attempt in happened:
        if attempt.outcome in (TEMPORARY, SESSION_ENDED):
            return Decision(INCONCLUSIVE, index, "temporary failures only, no answer about relaying")
    return Decision(CLOSED, happened[0][0], "every attempt was refused")
