"""XARF v4 (JSON; xarf/xarf-spec), as a file, attached to a mail, or posted to the reporter API.

Validated against the v4 schema by the `xarf` package; a failing document is rejected with every
failing field named (SchemaErrors.errors, the API's 400).
"""

import re
import warnings
from datetime import datetime

import xarf
from django.utils.translation import gettext as _

from abuse.categories import category_of
from abuse.formats.mail import Mail
from abuse.models import ReportFormat
from abuse.reports import ReportInput, Unreadable, check_time, normalise_ip
from common import bounded_json

NAME = ReportFormat.XARF4
REQUIRED = re.compile(r"^'([^']+)' is a required property$")
MESSAGE_CHARS = 300


class SchemaErrors(Unreadable):
    """The document is not valid XARF v4: `errors` maps each failing field to what is wrong."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))


def recognises(mail: Mail) -> bool:
    return _attached_document(mail) is not None


def parse(mail: Mail) -> list[ReportInput]:
    return parse_json(_attached_document(mail))


def parse_json(raw: bytes) -> list[ReportInput]:
    try:
        document = bounded_json.loads(raw)
    except bounded_json.TooDeep as exc:
        raise Unreadable(str(exc)) from None
    except (ValueError, UnicodeDecodeError):
        raise Unreadable(_("The XARF document is not JSON.")) from None
    return [from_document(document)]


def from_document(document: object) -> ReportInput:
    """The report a valid XARF document states (v4, or v3 as the `xarf` package converts it);
    SchemaErrors naming each failing field otherwise."""
    if not isinstance(document, dict):
        raise SchemaErrors({"": [_("A XARF report must be a JSON object.")]})
    try:
        with warnings.catch_warnings():  # a v3 report: converted, and said so by the package
            warnings.simplefilter("ignore")
            result = xarf.parse(document)
    except xarf.XARFError as exc:
        raise SchemaErrors({"": [str(exc)[:MESSAGE_CHARS]]}) from None
    if result.errors or result.report is None:
        raise SchemaErrors(_errors(result.errors) or {"": [_("Not a XARF report.")]})
    stated = result.report
    key = f"{stated.category}/{stated.type}"
    if getattr(stated, "evidence_source", None) == "spamtrap" and key == "messaging/spam":
        key += "+spamtrap"
    errors: dict[str, list[str]] = {}
    try:
        occurred_at = check_time(datetime.fromisoformat(str(stated.timestamp)))
    except (ValueError, Unreadable) as exc:
        errors["timestamp"] = [str(exc) if isinstance(exc, Unreadable) else _("Not a date and time (ISO 8601).")]
    try:
        source_ip = normalise_ip(str(stated.source_identifier))
    except Unreadable as exc:
        errors["source_identifier"] = [str(exc)]
    if errors:
        raise SchemaErrors(errors)
    return ReportInput(
        category=category_of(NAME, key),
        source_ip=source_ip,
        occurred_at=occurred_at,
        reference=str(document.get("report_id", ""))[:255],
        original_mail_from=str(getattr(stated, "smtp_from", "") or "")[:320],
        evidence={"xarf": document},
        format=NAME,
    )


def _errors(found: list) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in found:
        required = REQUIRED.match(error.message)
        if required:
            field, message = required.group(1), _("This field is required.")
        else:
            field, message = error.field or "", error.message[:MESSAGE_CHARS]
        errors.setdefault(field, []).append(message)
    return errors


def _attached_document(mail: Mail) -> bytes | None:
    for part in mail.message.walk():
        name = (part.get_filename() or "").lower()
        if part.get_content_type() == "application/json" or name.endswith(".json"):
            body = part.get_payload(decode=True) or b""
            if b'"xarf_version"' in body:
                return body
    return None
