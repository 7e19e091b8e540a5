"""Reading a reporter's mail the way real reporters write it: defects noted, never fatal by themselves."""

import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parsedate_to_datetime
from functools import cached_property

from django.utils.translation import gettext as _

from abuse.formats import header_limits
from abuse.reports import clean_text

Fields = list[tuple[str, str]]
ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers")
# A date whose zone is unreadable ("+2400", "XYZ"): read without it, as UTC, and said so.
ZONE_TAIL = re.compile(r"\s+(?:[+-]\d{1,4}|[A-Za-z]{1,5}|\([^)]*\))\s*$")


class Mail:
    """One parsed message: its parts, the MIME defects found in it, and notes for the report."""

    def __init__(self, raw: bytes, reporter_domains: frozenset[str] = frozenset()) -> None:
        # mbox "From " lines and CRLF line ends are the file's, not the message's.
        if raw.startswith(b"From "):
            raw = raw.partition(b"\n")[2]
        self.raw = raw.replace(b"\r\n", b"\n")
        header_limits.check_message(self.raw)
        self.message: EmailMessage = BytesParser(policy=policy.default).parsebytes(self.raw)
        self.notes: list[str] = []
        # The domains of the reporter's servers, from its configuration (never from the message): abuse.sender.
        self.reporter_domains = reporter_domains

    @property
    def defects(self) -> list[str]:
        """The names of the MIME defects the parser found, once each, in order."""
        found = [type(d).__name__ for part in self.message.walk() for d in part.defects]
        return list(dict.fromkeys(found))

    @cached_property
    def fields(self) -> Fields:
        """The message's own header fields (`fields_of`), read once: each parser asks for some."""
        return fields_of(self.message)

    def header(self, name: str) -> str:
        return _first(self.fields, name.lower())

    def part_of_type(self, *types: str) -> EmailMessage | None:
        return next((p for p in self.message.walk() if p.get_content_type() in types), None)

    def text(self) -> str:
        """The first text/plain part (or the body of a plain message), read whatever its charset."""
        part = self.part_of_type("text/plain") or self.message
        return text_of(part, self.notes)


def fields_of(message: EmailMessage) -> Fields:
    """Header fields as (name, unfolded text); a field the parser chokes on is kept raw."""
    found = []
    for name, raw_value in message.raw_items():
        try:
            value = str(message.policy.header_fetch_parse(name, raw_value))
        except Exception:  # a malformed header must not lose the report: keep its raw text
            value = raw_value
        found.append((name, " ".join(clean_text(value).split())))
    return found


def fields_in(part: EmailMessage) -> Fields:
    """The header fields carried by a part: an attached message's, or `key: value` lines in its body."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        return fields_of(payload[0])
    return header_fields(_body_bytes(part))


def header_fields(text: bytes) -> Fields:
    """The header fields that start `text`, once their size is known to be within the limits."""
    header_limits.check_block(text)
    return fields_of(BytesHeaderParser(policy=policy.default).parsebytes(text.lstrip()))


def _body_bytes(part: EmailMessage) -> bytes:
    payload = part.get_payload(decode=True)
    if payload is None:  # a message/* part whose payload the parser kept as text
        payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
    return payload


def first(fields: Fields, name: str) -> str:
    return _first(fields, name.lower())


def _first(fields: Fields, name: str) -> str:
    return next((value for key, value in fields if key.lower() == name), "")


def every(fields: Fields, name: str) -> list[str]:
    return [value for key, value in fields if key.lower() == name.lower()]


def grouped(fields: Fields) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in fields:
        found.setdefault(name.lower(), []).append(value)
    return found


def text_of(part: EmailMessage, notes: list[str]) -> str:
    """A text part's content; with an unknown charset, decoded as UTF-8 and said so in `notes`."""
    if part.get_content_maintype() != "text":
        return ""
    try:
        return clean_text(part.get_content())
    except (LookupError, UnicodeError):
        charset = part.get_content_charset() or "?"
        notes.append(_("Unknown charset %(charset)s; the text was read as UTF-8.") % {"charset": charset})
        return clean_text(_body_bytes(part).decode("utf-8", "replace"))


def parse_date(text: str, notes: list[str]) -> datetime | None:
    """A mail date; one without a valid zone is read as UTC (noted), None when it is no date at all."""
    text = text.strip()
    if not text:
        return None
    for candidate in (text, ZONE_TAIL.sub("", text)):
        try:
            moment = parsedate_to_datetime(candidate)
        except (TypeError, ValueError, IndexError):
            continue
        if moment.tzinfo is None or candidate != text:
            notes.append(_("The date %(date)r has no valid time zone; read as UTC.") % {"date": text})
            return moment.replace(tzinfo=UTC)
        return moment
    try:  # ISO 8601, as X-ARF and some blocklists write it
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        notes.append(_("The date %(date)r has no valid time zone; read as UTC.") % {"date": text})
        return moment.replace(tzinfo=UTC)
    return moment
