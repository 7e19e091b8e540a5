"""ARF, the Abuse Reporting Format (RFC 5965): multipart/report; report-type=feedback-report.

Lenient where real feedback loops differ from the RFC (a missing Version, Source-IP left out,
a wrong charset, a cut-off MIME structure), strict only where the report cannot say what is
needed: no feedback part, no address or time to hold anyone to, or not a complaint at all.
"""

import re

from django.utils.translation import gettext as _

from abuse import sender
from abuse.categories import category_of
from abuse.formats.mail import (
    ORIGINAL_TYPES,
    Fields,
    Mail,
    fields_in,
    first,
    grouped,
    header_fields,
    parse_date,
    text_of,
)
from abuse.models import ReportFormat
from abuse.reports import ReportInput, Unreadable

NAME = ReportFormat.ARF
SUMMARY_CHARS = 4000
# A part found by hand when the MIME structure is broken: its header, a blank line, its body up to a boundary.
SALVAGE = r"Content-Type:\s*(?:%s)[^\n]*\n(?:[^\n]+\n)*\n(.*?)(?=\n--|\Z)"


def recognises(mail: Mail) -> bool:
    message = mail.message
    if message.get_content_type() == "multipart/report":
        return str(message.get_param("report-type", "")).lower() == "feedback-report"
    return re.search(rb"(?im)^Content-Type:\s*message/feedback-report", mail.raw) is not None


def parse(mail: Mail) -> list[ReportInput]:
    notes = mail.notes
    feedback, original = _feedback_fields(mail), _original_fields(mail)
    if feedback is None:
        raise Unreadable(_("The report has no readable message/feedback-report part."))
    present = {name.lower() for name, _value in feedback}
    notes += [
        _("The feedback report lacks %(field)s.") % {"field": name}
        for name in ("User-Agent", "Version")
        if name.lower() not in present
    ]
    if original is None:
        notes.append(_("The report has no copy of the original message."))
        original = []
    feedback_type = first(feedback, "feedback-type")
    if not feedback_type:
        raise Unreadable(_("The feedback report has no Feedback-Type."))
    category = category_of(NAME, feedback_type)
    if category is None:
        raise Unreadable(_("Feedback-Type %(type)s is not a complaint about the sender.") % {"type": feedback_type})
    occurred_at = _occurred_at(feedback, original, mail)
    found = _sender(feedback, original, occurred_at, mail)
    if found.note:
        notes.append(found.note)
    first_part = next(iter(mail.message.iter_parts()), None) if mail.message.is_multipart() else None
    summary = text_of(first_part, notes) if first_part is not None else ""
    original_part = mail.part_of_type(*ORIGINAL_TYPES)
    report = ReportInput(
        category=category,
        source_ip=found.ip,
        occurred_at=occurred_at,
        reference=mail.header("message-id").strip()[:255],
        reported_domain=first(feedback, "reported-domain")[:253],
        original_mail_from=(first(feedback, "original-mail-from") or first(original, "return-path")).strip()[:320],
        original_headers="\n".join(f"{name}: {value}" for name, value in original),
        original_message_id=first(original, "message-id").strip(),
        evidence={
            "feedback_report": grouped(feedback),
            "summary": summary[:SUMMARY_CHARS],
            "original_part": original_part.get_content_type() if original_part is not None else "",
            "notes": notes,
        },
        format=NAME,
        source_rule=found.rule,
        source_certainty=found.certainty,
    )
    return [report]


def _feedback_fields(mail: Mail) -> Fields | None:
    part = mail.part_of_type("message/feedback-report")
    if part is not None:
        return fields_in(part)
    return _salvaged(mail, "message/feedback-report")


def _original_fields(mail: Mail) -> Fields | None:
    part = mail.part_of_type(*ORIGINAL_TYPES)
    if part is not None:
        return fields_in(part)
    return _salvaged(mail, "message/rfc822|text/rfc822-headers")


def _salvaged(mail: Mail, types: str) -> Fields | None:
    """The header fields of a part the MIME parser could not separate (a boundary missing)."""
    match = re.search((SALVAGE % types).encode(), mail.raw, re.IGNORECASE | re.DOTALL)
    if match is None:
        return None
    mail.notes.append(_("A part was read past a broken MIME structure."))
    return header_fields(match.group(1))


def _sender(feedback: Fields, original: Fields, moment, mail: Mail) -> sender.Sender:
    """Source-IP if usable, else the Received-chain rule (abuse.sender)."""
    declared = first(feedback, "source-ip")
    if declared:
        try:
            return sender.declared(declared)
        except Unreadable:
            mail.notes.append(
                _("Source-IP %(value)r is not an address; taken from the Received headers.") % {"value": declared}
            )
    else:
        mail.notes.append(_("No Source-IP; the sending address was taken from the Received headers."))
    received = [value for name, value in original if name.lower() == "received"]
    return sender.sender_in(received, moment, mail.reporter_domains)


def _occurred_at(feedback: Fields, original: Fields, mail: Mail):
    """Arrival-Date (or Received-Date), else the top Received of the original, else the report's Date."""
    received = first(original, "received")
    candidates = [
        first(feedback, "arrival-date"),
        first(feedback, "received-date"),
        received.rpartition(";")[2] if ";" in received else "",
        mail.header("date"),
    ]
    for text in candidates:
        if (moment := parse_date(text, mail.notes)) is not None:
            return moment
    raise Unreadable(_("The report says neither when the message arrived nor when it was reported."))
