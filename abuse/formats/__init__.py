"""The formats reporters send, one parser per format behind one small interface.

`read(raw)` looks at the message and hands it to the parser that recognises it: raw bytes in,
one or more reports out (a SpamCop digest or an X-ARF mail may name several sources), or
Unreadable with the reason. MIME defects are noted on each report, never fatal by themselves.
"""

from dataclasses import dataclass, replace
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext as _

from abuse.formats import arf, jmrp, spamcop, spamhaus, x_arf, xarf4
from abuse.formats.mail import Mail
from abuse.reports import ReportInput, Unreadable


class Parser(Protocol):
    NAME: str

    def recognises(self, mail: Mail) -> bool: ...

    def parse(self, mail: Mail) -> list[ReportInput]: ...


# Most specific first: an X-ARF mail may also carry an ARF-looking part, a JMRP mail a SpamCop-like subject.
PARSERS: list[Parser] = [x_arf, xarf4, arf, jmrp, spamcop, spamhaus]


@dataclass(frozen=True)
class Parsed:
    format: str
    reports: list[ReportInput]


def read(raw: bytes, reporter_domains: frozenset[str] = frozenset()) -> Parsed:
    """The reports in `raw` (a mail, or an XARF v4 JSON document), or Unreadable with the reason.

    `reporter_domains`: the domains of the servers of the reporter it came from, as configured
    (abuse.models.Reporter.receives_as), which bound the Received headers that may name the sender.
    """
    limit = settings.PORTAL_ABUSE_MAX_REPORT_BYTES
    if len(raw) > limit:
        raise Unreadable(
            _("The report is %(size)d bytes, above the limit of %(limit)d.") % {"size": len(raw), "limit": limit}
        )
    if raw.lstrip()[:1] == b"{":
        return Parsed(xarf4.NAME, xarf4.parse_json(raw))
    mail = Mail(raw, reporter_domains)
    parser = next((p for p in PARSERS if p.recognises(mail)), None)
    if parser is None:
        raise Unreadable(
            _(
                "Not a report format we read (ARF, X-ARF, XARF v4, Microsoft, SpamCop, Spamhaus): it is %(type)s."
            )
            % {"type": mail.message.get_content_type()}
        )
    reports = parser.parse(mail)
    defects, notes = mail.defects, list(dict.fromkeys(mail.notes))
    return Parsed(
        parser.NAME,
        [_with_notes(report, defects, notes, (n, len(reports))) for n, report in enumerate(reports, start=1)],
    )


def _with_notes(report: ReportInput, defects: list[str], notes: list[str], part: tuple[int, int]) -> ReportInput:
    """The message's defects and notes on each of its reports; of several, which one this is."""
    evidence = dict(report.evidence)
    evidence["notes"] = list(dict.fromkeys([*evidence.get("notes", []), *notes]))
    if defects:
        evidence["mime_defects"] = defects
    if part[1] > 1:
        evidence["report_in_message"] = list(part)
    return replace(report, evidence=evidence)
