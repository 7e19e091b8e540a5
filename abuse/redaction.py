"""What the customer sees of a report: never who complained, and nothing staff chose to hide.

Redaction happens here, at display time, from the report as stored (raw and parsed), so every
format's parser feeds it without doing anything special. The customer reads:
- of the reported message's headers only an allow-list (no To, Cc, Resent-To, Apparently-To,
  X-Envelope-To, X-Original-Recipient, X-Forwarded-To…), with `for <…>` cut from Received lines;
- in every field, structured or free text, every e-mail address masked except the message's own
  senders (envelope sender, From, Sender, Reply-To, Return-Path) and its Message-ID;
- nothing of a spam-trap hit's evidence or headers: they would point at the trap.
The abuse desk sees everything, in the admin.
"""

import contextlib
import re
import unicodedata
from email.utils import getaddresses
from urllib.parse import unquote

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abuse.models import AbuseEvent, AbuseReport, Category, EventKind
from accounts.models import User
from common import bounded_json

REDACTABLE = {
    "reporter": gettext_lazy("Reported by"),
    "reference": gettext_lazy("Reporter's reference"),
    "reported_domain": gettext_lazy("Reported domain"),
    "original_mail_from": gettext_lazy("Envelope sender"),
    "original_headers": gettext_lazy("Headers of the reported message"),
    "evidence": gettext_lazy("Reporter's evidence"),
}
# Headers of the reported message a customer may read: enough to find the mail in their logs.
SHOWN_HEADERS = {
    "received",
    "return-path",
    "from",
    "sender",
    "reply-to",
    "date",
    "subject",
    "message-id",
    "mime-version",
    "content-type",
    "x-mailer",
    "user-agent",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "dkim-signature",
    "feedback-id",
}
SENDER_HEADERS = {"from", "sender", "reply-to", "return-path"}
# Hidden whatever staff chose: a spam trap's evidence and headers would show the trap to the sender.
ALWAYS_HIDDEN = {Category.SPAMTRAP: {"evidence", "original_headers"}}

# Characters of a local part (RFC 5322 atext, and RFC 6531's UTF-8: any letter, digit or mark).
_LOCAL_CHAR = r"[\w\u0300-\u036f!#$%&'*+/=?^`{|}~.-]"
# A domain label, in Unicode (an IDN), in punycode (xn--...), or percent-encoded in a link.
_LABEL = r"(?:[\w\u0300-\u036f-]|%[0-9A-Fa-f]{2})+"
# A percent sign, URL-encoded any number of times (%, %25, %2525).
_PERCENT = r"%(?:25)*"
# The @ as written, fullwidth (U+FF20) or small (U+FE6B), each of them URL-encoded once or more
# (%40, %2540, %EF%BC%A0), or quoted-printable (=40, and that URL-encoded).
_AT = rf"(?:[@\uff20\ufe6b]|(?:=|{_PERCENT}3D)40|{_PERCENT}40|{_PERCENT}EF{_PERCENT}(?:BC{_PERCENT}A0|B9{_PERCENT}AB))"
# IDNA reads these as the dot between labels (UTS #46): a full stop, ideographic, fullwidth, halfwidth;
# each as written or URL-encoded.
_DOT = (
    rf"(?:[.\u3002\uff0e\uff61]|{_PERCENT}2E|{_PERCENT}E3{_PERCENT}80{_PERCENT}82"
    rf"|{_PERCENT}EF{_PERCENT}(?:BC{_PERCENT}8E|BD{_PERCENT}A1))"
)
# An address as written, quoted, encoded in a link (`?email=someone%40isp.example`) or in Unicode.
# A match starts only where a run of local-part characters starts: a long run without an @ is then
# read once, not once per position (quadratic).
ADDRESS = re.compile(
    rf'(?:(?<!{_LOCAL_CHAR}){_LOCAL_CHAR}+|"[^"\r\n]*"){_AT}\[?{_LABEL}(?:{_DOT}{_LABEL})+\]?', re.IGNORECASE
)
RECEIVED_FOR = re.compile(r"\s+for\s+(?:<[^>]*>|[^\s;]+@[^\s;]+)", re.IGNORECASE)
HIDDEN_ADDRESS = "[address hidden]"


def _header_blocks(headers: str) -> list[tuple[str, str]]:
    """(lower-case name, the header as written, continuation lines included) for each header."""
    blocks: list[tuple[str, str]] = []
    for line in headers.splitlines():
        if line[:1] in (" ", "\t") and blocks:
            name, text = blocks[-1]
            blocks[-1] = (name, f"{text}\n{line}")
        elif ":" in line:
            blocks.append((line.partition(":")[0].strip().lower(), line))
    return blocks


def canonical_address(written: str) -> str:
    """One spelling for every way an address can be written: decoded, NFKC, lower case, domain in punycode."""
    text = written.strip('"')
    for _round in range(3):  # %2540 takes two rounds; an address encoded deeper is masked, never kept
        text = unquote(text)
    text = unicodedata.normalize("NFKC", text).replace("\u3002", ".")  # NFKC makes U+FF20, U+FE6B an @
    if "@" not in text:
        text = text.replace("=40", "@")  # quoted-printable
    local, at, domain = text.rpartition("@")
    with contextlib.suppress(UnicodeError):  # not a valid IDN: compared as written
        domain = domain.encode("idna").decode("ascii")
    return f"{local}{at}{domain}".lower()


def _senders(report: AbuseReport, blocks: list[tuple[str, str]]) -> set[str]:
    """The addresses the customer's own message was sent from, and its Message-ID: not a complainant's."""
    values = [text.partition(":")[2] for name, text in blocks if name in SENDER_HEADERS]
    known = {address for _name, address in getaddresses([*values, report.original_mail_from]) if address}
    known |= {text.partition(":")[2].strip(" \t\n<>") for name, text in blocks if name == "message-id"}
    return {canonical_address(address) for address in known} - {""}


def mask_addresses(text: str, keep: set[str] = frozenset()) -> str:
    """`text` with every e-mail address hidden, however written, but those whose canonical form is in `keep`."""
    return _Masker(keep).text(text)


class _Masker:
    def __init__(self, keep: set[str]) -> None:
        self.keep = keep

    def text(self, value: str) -> str:
        return ADDRESS.sub(self._one, value)

    def _one(self, match: re.Match) -> str:
        return match.group(0) if canonical_address(match.group(0)) in self.keep else HIDDEN_ADDRESS

    def data(self, value: object) -> object:
        """Every text inside JSON-shaped data, keys too, masked (depth as clipped for display)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.data(child) for key, child in value.items()}
        if isinstance(value, list):
            return [self.data(child) for child in value]
        return value


def _headers_text(blocks: list[tuple[str, str]], masker: _Masker) -> str:
    shown = [text for name, text in blocks if name in SHOWN_HEADERS]
    shown = [RECEIVED_FOR.sub("", text) if text.lower().startswith("received") else text for text in shown]
    return masker.text("\n".join(shown))


def _evidence_text(report: AbuseReport, masker: _Masker) -> str:
    evidence = report.evidence if isinstance(report.evidence, dict) else {"evidence": report.evidence}
    if isinstance(evidence.get("summary"), str):  # an ARF report: the reporter's own words
        return masker.text(evidence["summary"])
    if not evidence:
        return ""
    return bounded_json.dumps_for_display(masker.data(bounded_json.clipped(evidence)))


def customer_view(report: AbuseReport) -> dict:
    """The report as its customer may read it: fields hidden (by staff or always) are None."""
    blocks = _header_blocks(report.original_headers)
    masker = _Masker(_senders(report, blocks))
    values = {
        "reporter": str(report.reporter) if report.reporter else _("Our abuse desk"),
        "reference": masker.text(report.reference),
        "reported_domain": masker.text(report.reported_domain),
        "original_mail_from": report.original_mail_from,
        "original_headers": _headers_text(blocks, masker),
        "evidence": _evidence_text(report, masker),
    }
    hidden = set(report.redacted) | ALWAYS_HIDDEN.get(report.category, set())
    fields = [
        {"label": label, "value": None if name in hidden else values[name], "redacted": name in hidden}
        for name, label in REDACTABLE.items()
        if values[name] or name in hidden
    ]
    return {
        "id": report.pk,
        "category": report.get_category_display(),
        "source_ip": report.source_ip,
        "occurred_at": report.occurred_at,
        "fields": fields,
    }


@transaction.atomic
def redact(report: AbuseReport, fields: list[str], actor: User) -> AbuseReport:
    """Hide these fields from the customer (the stored report stays as received)."""
    unknown = set(fields) - REDACTABLE.keys()
    if unknown:
        raise ValueError(f"Not redactable: {sorted(unknown)}")
    report = AbuseReport.objects.select_for_update().get(pk=report.pk)
    report.redacted = sorted(set(fields))
    report.save(update_fields=["redacted"])
    if report.account_id is not None:
        hidden = ", ".join(str(REDACTABLE[name]) for name in report.redacted) or _("nothing")
        AbuseEvent.objects.create(
            account_id=report.account_id,
            kind=EventKind.REDACTED,
            actor=actor,
            report=report,
            message=_("Report #%(id)d: hidden from the customer: %(fields)s.") % {"id": report.pk, "fields": hidden},
        )
    return report
