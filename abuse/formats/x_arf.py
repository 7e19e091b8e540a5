"""X-ARF 0.2 (x-arf.org), as blocklist.de and many CERTs send it.

A mail marked `X-ARF: yes` (or `X-XARF: PLAIN`): a human part, a machine part (`report.txt`, a YAML
mapping: Reported-From, Category, Report-Type, Source, Source-Type, Date, ...; blocklist.de begins it
with `---`) and optionally the logs. Several Source keys, or a list of them, are several reports.
"""

from django.utils.translation import gettext as _

from abuse import sender
from abuse.categories import category_of
from abuse.formats.machine_yaml import MachinePartRefused, fields_of_yaml
from abuse.formats.mail import Fields, Mail, every, first, grouped, parse_date, text_of
from abuse.models import ReportFormat
from abuse.reports import ReportInput, Unreadable

NAME = ReportFormat.X_ARF
MACHINE_FIELDS = ("reported-from", "report-type", "source")
LOG_CHARS = 4000


def recognises(mail: Mail) -> bool:
    marker = (mail.header("x-arf") or mail.header("x-xarf")).strip().lower()
    return marker in {"yes", "plain", "secure", "true"}


def parse(mail: Mail) -> list[ReportInput]:
    fields, logs = _machine_part(mail)
    report_type = first(fields, "report-type")
    if not report_type:
        raise Unreadable(_("The X-ARF report has no Report-Type."))
    category = category_of(NAME, report_type)
    sources = every(fields, "source")
    if not sources:
        raise Unreadable(_("The X-ARF report has no Source."))
    occurred_at = parse_date(first(fields, "date"), mail.notes) or parse_date(mail.header("date"), mail.notes)
    if occurred_at is None:
        raise Unreadable(_("The X-ARF report has no readable Date."))
    if first(fields, "version") not in {"0.1", "0.2"}:
        mail.notes.append(_("X-ARF Version %(v)r; read as 0.2.") % {"v": first(fields, "version")})
    reports = []
    for number, source in enumerate(sources, start=1):
        try:
            found = sender.declared(source.split()[0])
        except (Unreadable, IndexError):
            raise Unreadable(_("The X-ARF Source %(value)r is not an address.") % {"value": source}) from None
        reference = first(fields, "report-id") or mail.header("message-id")
        if len(sources) > 1:
            reference = f"{reference}#{number}"
        reports.append(
            ReportInput(
                category=category,
                source_ip=found.ip,
                occurred_at=occurred_at,
                reference=reference.strip()[:255],
                evidence={
                    "x_arf": grouped(fields),
                    "summary": text_of(mail.message.get_body(("plain",)) or mail.message, mail.notes)[:LOG_CHARS],
                    "logs": logs[:LOG_CHARS],
                    "notes": mail.notes,
                },
                format=NAME,
            )
        )
    return reports


def _machine_part(mail: Mail) -> tuple[Fields, str]:
    """The fields of the machine-readable part (the first text part that is a YAML mapping with the
    fields X-ARF requires), and the logs if attached after it."""
    fields: Fields = []
    logs = ""
    refusals: list[str] = []
    for part in mail.message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        text = text_of(part, mail.notes)
        if fields:
            logs = logs or text
            continue
        try:
            found = fields_of_yaml(text)
        except MachinePartRefused as exc:
            refusals.append(str(exc))
            continue
        names = {name.lower() for name, _value in found}
        if all(name in names for name in MACHINE_FIELDS):
            fields = found
    if not fields:
        raise Unreadable(
            " ".join(
                [_("The X-ARF mail has no machine-readable part (Reported-From, Report-Type, Source)."), *refusals]
            )
        )
    return fields, logs
