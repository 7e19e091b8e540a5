"""Microsoft's older complaint mails (JMRP, not ARF).

multipart/mixed with the original message attached as message/rfc822; the offending address is
in the subject ("complaint about message from 198.51.100.7") and in the original's Received headers.
"""

import re

from django.utils.translation import gettext as _

from abuse import sender
from abuse.categories import category_of
from abuse.formats.mail import Mail, fields_in, first, parse_date, text_of
from abuse.models import ReportFormat
from abuse.reports import ReportInput, Unreadable

NAME = ReportFormat.JMRP
SUBJECT = re.compile(r"complaint about message from\s+\[?([0-9A-Fa-f:.]+)\]?", re.IGNORECASE)
SUMMARY_CHARS = 4000


def recognises(mail: Mail) -> bool:
    return bool(SUBJECT.search(mail.header("subject"))) and mail.part_of_type("message/rfc822") is not None


def parse(mail: Mail) -> list[ReportInput]:
    original = fields_in(mail.part_of_type("message/rfc822"))
    received = [value for name, value in original if name.lower() == "received"]
    top = received[0].rpartition(";")[2] if received else ""
    occurred_at = (
        parse_date(top, mail.notes)
        or parse_date(first(original, "date"), mail.notes)
        or parse_date(mail.header("date"), mail.notes)
    )
    if occurred_at is None:
        raise Unreadable(_("The complaint says neither when the message arrived nor when it was reported."))
    try:
        found = sender.declared(SUBJECT.search(mail.header("subject")).group(1))
    except Unreadable:
        found = sender.sender_in(received, occurred_at, mail.reporter_domains)
        mail.notes.append(found.note)
    return [
        ReportInput(
            category=category_of(NAME, "complaint"),
            source_ip=found.ip,
            occurred_at=occurred_at,
            reference=mail.header("message-id").strip()[:255],
            original_mail_from=first(original, "return-path")[:320],
            original_headers="\n".join(f"{name}: {value}" for name, value in original),
            original_message_id=first(original, "message-id").strip(),
            evidence={
                "summary": text_of(mail.message.get_body(("plain",)) or mail.message, mail.notes)[:SUMMARY_CHARS]
            },
            format=NAME,
            source_rule=found.rule,
            source_certainty=found.certainty,
        )
    ]
