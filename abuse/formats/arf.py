"""Reading Abuse Reporting Format messages (RFC 5965: multipart/report; report-type=feedback-report).

Lenient where real feedback loops differ from the RFC (a missing Version, Source-IP left out,
a wrong charset), strict where the report would say something it does not: no feedback part,
no original message, a cut-off MIME structure, no address or time to hold anyone to.
"""

import ipaddress
import re
from datetime import datetime
from email import errors, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.utils.translation import gettext as _

from abuse.models import Category
from abuse.reports import ReportInput, Unreadable, check_time, clean_text, normalise_ip

FEEDBACK_TYPES = {
    "abuse": Category.SPAM,
    "fraud": Category.PHISHING,
    "virus": Category.MALWARE,
    "other": Category.OTHER,
}
# Feedback types that are not complaints about the sender (RFC 6650 not-spam, RFC 6591 auth-failure).
NOT_COMPLAINTS = {"not-spam", "auth-failure"}
BROKEN_STRUCTURE = (
    errors.CloseBoundaryNotFoundDefect,
    errors.StartBoundaryNotFoundDefect,
    errors.MultipartInvariantViolationDefect,
    errors.MissingHeaderBodySeparatorDefect,
)
ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers")
# Hops inside the reporter's own network: never the sender the report is about.
INTERNAL_NETWORKS = [
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
]
BRACKETED = re.compile(r"\[([^\]\s]+)\]")
PARENTHESISED = re.compile(r"\(([0-9A-Fa-f:.]+)\)")
FROM_CLAUSE = re.compile(r"^\s*from\s+(.*?)(?:\s+by\s+|;|$)", re.IGNORECASE | re.DOTALL)
SUMMARY_CHARS = 4000


def parse(raw: bytes) -> ReportInput:
    """The report in `raw`, or Unreadable with the reason it cannot be accepted."""
    limit = settings.PORTAL_ABUSE_MAX_REPORT_BYTES
    if len(raw) > limit:
        raise Unreadable(
            _("The report is %(size)d bytes, above the limit of %(limit)d.") % {"size": len(raw), "limit": limit}
        )
    message = BytesParser(policy=policy.default).parsebytes(raw)
    content_type = message.get_content_type()
    if content_type != "multipart/report" or str(message.get_param("report-type", "")).lower() != "feedback-report":
        raise Unreadable(
            _("Not an ARF report: the message is %(type)s, not multipart/report; report-type=feedback-report.")
            % {"type": content_type}
        )
    defects = [d for part in message.walk() for d in part.defects if isinstance(d, BROKEN_STRUCTURE)]
    if defects or not message.is_multipart():
        raise Unreadable(
            _("The MIME structure is cut off or broken (%(defect)s).")
            % {"defect": type(defects[0]).__name__ if defects else _("no parts")}
        )
    parts = list(message.iter_parts())
    feedback = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    if feedback is None:
        raise Unreadable(_("The report has no message/feedback-report part."))
    original_part = next((p for p in parts if p.get_content_type() in ORIGINAL_TYPES), None)
    if original_part is None:
        raise Unreadable(_("The report has no copy of the original message (message/rfc822 or text/rfc822-headers)."))

    fields = _feedback_fields(feedback)
    original = _original_headers(original_part)
    present = {name.lower() for name, _value in fields}
    notes = [
        _("The feedback report lacks %(field)s.") % {"field": name}
        for name in ("User-Agent", "Version")
        if name.lower() not in present
    ]
    category = _category(_first(fields, "feedback-type"))
    source_ip = _source_ip(_first(fields, "source-ip"), original, notes)
    occurred_at = _occurred_at(fields, original, message)
    mail_from = _first(fields, "original-mail-from") or _first(original, "return-path")
    summary, summary_notes = _text_of(parts[0]) if parts[0] is not feedback else ("", [])
    return ReportInput(
        category=category,
        source_ip=source_ip,
        occurred_at=occurred_at,
        reference=clean_text(message.get("message-id", "")).strip()[:255],
        reported_domain=_first(fields, "reported-domain")[:253],
        original_mail_from=mail_from.strip()[:320],
        original_headers="\n".join(f"{name}: {value}" for name, value in original),
        original_message_id=_first(original, "message-id").strip(),
        evidence={
            "feedback_report": _grouped(fields),
            "summary": clean_text(summary)[:SUMMARY_CHARS],
            "original_part": original_part.get_content_type(),
            "notes": notes + summary_notes,
        },
    )


def _values(message: EmailMessage) -> list[tuple[str, str]]:
    """Header fields as (name, unfolded text); a field the parser chokes on is kept raw."""
    found = []
    for name, raw_value in message.raw_items():
        try:
            value = str(message.policy.header_fetch_parse(name, raw_value))
        except Exception:  # a malformed header must not lose the report: keep its raw text
            value = raw_value
        found.append((name, " ".join(clean_text(value).split())))
    return found


def _feedback_fields(part: EmailMessage) -> list[tuple[str, str]]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        return _values(payload[0])
    return _values(BytesHeaderParser(policy=policy.default).parsebytes(part.get_payload(decode=True) or b""))


def _original_headers(part: EmailMessage) -> list[tuple[str, str]]:
    payload = part.get_payload()
    if part.get_content_type() == "message/rfc822" and isinstance(payload, list) and payload:
        return _values(payload[0])
    return _values(BytesHeaderParser(policy=policy.default).parsebytes(part.get_payload(decode=True) or b""))


def _first(fields: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in fields if key.lower() == name), "")


def _grouped(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in fields:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def _category(feedback_type: str) -> str:
    token = feedback_type.strip().lower()
    if not token:
        raise Unreadable(_("The feedback report has no Feedback-Type."))
    if token in NOT_COMPLAINTS:
        raise Unreadable(_("Feedback-Type %(type)s is not a complaint about the sender.") % {"type": token})
    return FEEDBACK_TYPES.get(token, Category.OTHER)


def _source_ip(declared: str, original: list[tuple[str, str]], notes: list[str]) -> str:
    """Source-IP if usable, else the first outside hop in the original message's Received headers."""
    if declared:
        try:
            return normalise_ip(declared)
        except Unreadable:
            notes.append(
                _("Source-IP %(value)r is not an address; taken from the Received headers.") % {"value": declared}
            )
    for name, value in original:
        if name.lower() == "received" and (address := _sender_in_received(value)):
            if not declared:
                notes.append(_("No Source-IP; the sending address was taken from the Received headers."))
            return address
    raise Unreadable(_("No Source-IP, and no sending address in the original message's Received headers."))


def _sender_in_received(value: str) -> str:
    match = FROM_CLAUSE.match(value)
    if not match:
        return ""
    clause = match.group(1)
    for candidate in BRACKETED.findall(clause) + PARENTHESISED.findall(clause):
        try:
            address = normalise_ip(candidate.split("%")[0])
        except Unreadable:
            continue
        if not _internal(ipaddress.ip_address(address)):
            return address
    return ""


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast:
        return True
    return any(address.version == net.version and address in net for net in INTERNAL_NETWORKS)


def _occurred_at(fields: list[tuple[str, str]], original: list[tuple[str, str]], message: EmailMessage) -> datetime:
    """Arrival-Date (or Received-Date), else the top Received of the original, else the report's Date."""
    received = _first(original, "received")
    candidates = [
        _first(fields, "arrival-date"),
        _first(fields, "received-date"),
        received.rpartition(";")[2] if ";" in received else "",
        clean_text(message.get("date", "")),
    ]
    for text in candidates:
        try:
            moment = parsedate_to_datetime(text.strip()) if text.strip() else None
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is not None:
            return check_time(moment)
    raise Unreadable(_("The report says neither when the message arrived nor when it was reported."))


def _text_of(part: EmailMessage) -> tuple[str, list[str]]:
    """The human-readable part's text; with an unknown charset, decoded as UTF-8 and said so."""
    if part.get_content_maintype() != "text":
        return "", []
    try:
        return part.get_content(), []
    except (LookupError, UnicodeError):
        charset = part.get_content_charset() or "?"
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        return text, [_("Unknown charset %(charset)s; the text was read as UTF-8.") % {"charset": charset}]
