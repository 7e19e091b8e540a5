"""SpamCop reports: plain text, "Email from <ip> / <date>", a report id in the subject, and the
offending message below "[ Offending message ]". A digest names several messages: one report each.
"""

import re
from email import policy
from email.parser import Parser

from django.utils.translation import gettext as _

from abuse.categories import category_of
from abuse.formats import header_limits
from abuse.formats.mail import Mail, fields_of, first, parse_date
from abuse.models import ReportFormat
from abuse.reports import ReportInput, Unreadable

NAME = ReportFormat.SPAMCOP
EMAIL_FROM = re.compile(r"^\s*Email from\s+\[?([0-9A-Fa-f:.]+)\]?\s*/\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
REPORT_ID = re.compile(r"\bid:\s*(\d+)", re.IGNORECASE)
OFFENDING = "[ Offending message ]"
SUMMARY_CHARS = 4000


def recognises(mail: Mail) -> bool:
    sender_domain = mail.header("from").rpartition("@")[2].strip(" >").lower()
    return sender_domain.endswith("spamcop.net") or "[SpamCop" in mail.header("subject")


def parse(mail: Mail) -> list[ReportInput]:
    text = mail.text()
    summary, _marker, offending = text.partition(OFFENDING)
    sightings = EMAIL_FROM.findall(summary)
    if not sightings:
        raise Unreadable(_('The SpamCop report has no "Email from <address> / <date>" line.'))
    header_limits.check_block(offending)
    original = fields_of(Parser(policy=policy.default).parsestr(offending.lstrip(), headersonly=True))
    subject_id = REPORT_ID.search(mail.header("subject"))
    reference = subject_id.group(1) if subject_id else mail.header("message-id").strip()
    reports = []
    for number, (ip, when) in enumerate(sightings, start=1):
        occurred_at = parse_date(when, mail.notes)
        if occurred_at is None:
            raise Unreadable(_("The SpamCop date %(value)r is not a date.") % {"value": when})
        reports.append(
            ReportInput(
                category=category_of(NAME, "spam"),
                source_ip=ip,
                occurred_at=occurred_at,
                reference=(reference if len(sightings) == 1 else f"{reference}#{number}")[:255],
                original_mail_from=first(original, "return-path")[:320],
                original_headers="\n".join(f"{name}: {value}" for name, value in original)
                if len(sightings) == 1
                else "",
                original_message_id=first(original, "message-id").strip() if len(sightings) == 1 else "",
                evidence={"summary": summary.strip()[:SUMMARY_CHARS]},
                format=NAME,
            )
        )
    return reports
