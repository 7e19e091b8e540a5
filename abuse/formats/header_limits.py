"""The bounds a report's mail headers must keep before Python's mail parser reads them.

email.policy.default builds a tree of tokens for each structured field it reads. Its memory grows
with the square of a field's RFC 2047 encoded words (5,000 of them, 70 KB: 190-370 MB; one 1.9 MB
header: 23.8 GB) and its time with a field's length (an address list: about 40 µs a byte, so 2 MB
would take 80 s). So every header block a parser reads, the message's own, those of the messages
attached to it at any depth, and `key: value` lines read from a part's text, is measured first by a
linear scan, and one beyond the limits (PORTAL_ABUSE_MAX_HEADER_*, PORTAL_ABUSE_MAX_ENCODED_WORDS,
PORTAL_ABUSE_MAX_MIME_PARTS) makes the report unreadable, with the reason, instead of reaching it.
"""

import re
from collections.abc import Iterable, Iterator
from email import policy
from email.message import Message
from email.parser import BytesParser

from django.conf import settings
from django.utils.translation import gettext as _

from abuse.reports import Unreadable

# Attached messages inside attached messages: real reports nest two or three deep.
MAX_DEPTH = 10
BLOCK_END = re.compile(r"\r?\n\r?\n")
ENCODED_WORD = "=?"  # counted as the start of one: a malformed word costs the parser as much


def check_message(raw: bytes) -> None:
    """Raise Unreadable unless every header block of the message `raw` is within the limits.

    The MIME structure is found with the compat32 policy, which keeps each field as its raw text
    and so reads any input in linear time.
    """
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
        parts = list(_parts(message))
    except RecursionError:
        parts = None
    if parts is None or len(parts) > settings.PORTAL_ABUSE_MAX_MIME_PARTS:
        raise Unreadable(
            _("The message has more than %(n)d MIME parts, or parts nested deeper than %(depth)d.")
            % {"n": settings.PORTAL_ABUSE_MAX_MIME_PARTS, "depth": MAX_DEPTH}
        )
    total = 0
    for part in parts:
        fields = list(part.raw_items())
        total += sum(len(name) + len(value) for name, value in fields)
        if total > settings.PORTAL_ABUSE_MAX_HEADER_BYTES:
            raise Unreadable(_too_large())
        if problem := _fields_problem(fields):
            raise Unreadable(problem)


def check_block(text: bytes | str) -> None:
    """Raise Unreadable unless the header block that starts `text` (up to an empty line) is within
    the limits; `text` is the body of a part read as header fields."""
    if problem := block_problem(text):
        raise Unreadable(problem)


def block_problem(text: bytes | str) -> str | None:
    """Why the header block that starts `text` is beyond the limits; None when it is within them."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")  # one character a byte: lengths stay byte counts
    text = text.lstrip()
    end = BLOCK_END.search(text, 0, settings.PORTAL_ABUSE_MAX_HEADER_BYTES + 4)
    block = text[: end.start()] if end else text
    if len(block) > settings.PORTAL_ABUSE_MAX_HEADER_BYTES:
        return _too_large()
    return _fields_problem(_unfolded(block))


def _parts(message: Message, depth: int = 0) -> Iterator[Message]:
    """The message and every part in it, attached messages included; RecursionError past MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise RecursionError
    yield message
    payload = message.get_payload()
    if isinstance(payload, list):
        for part in payload:
            yield from _parts(part, depth + 1)


def _unfolded(block: str) -> Iterator[tuple[str, str]]:
    """The block's fields as (name, value); a line starting with white space continues the field."""
    name, value = "", []
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and value:
            value.append(line)
            continue
        if value:
            yield name, "\n".join(value)
        name, _colon, rest = line.partition(":")
        value = [rest]
    if value:
        yield name, "\n".join(value)


def _fields_problem(fields: Iterable[tuple[str, str]]) -> str | None:
    """Why these fields of one header block are beyond the limits; None when they are within them."""
    total = 0
    for count, (name, value) in enumerate(fields, start=1):
        size = len(name) + len(value)
        total += size
        if total > settings.PORTAL_ABUSE_MAX_HEADER_BYTES:
            return _too_large()
        if count > settings.PORTAL_ABUSE_MAX_HEADER_FIELDS:
            return _("The message has more than %(n)d header fields in one part.") % {
                "n": settings.PORTAL_ABUSE_MAX_HEADER_FIELDS
            }
        if size > settings.PORTAL_ABUSE_MAX_HEADER_FIELD_BYTES:
            return _("The header field %(name)s is %(size)d bytes, above the limit of %(limit)d.") % {
                "name": _shown(name),
                "size": size,
                "limit": settings.PORTAL_ABUSE_MAX_HEADER_FIELD_BYTES,
            }
        if value.count(ENCODED_WORD) > settings.PORTAL_ABUSE_MAX_ENCODED_WORDS:
            return _("The header field %(name)s has more than %(n)d encoded words (RFC 2047).") % {
                "name": _shown(name),
                "n": settings.PORTAL_ABUSE_MAX_ENCODED_WORDS,
            }
    return None


def _too_large() -> str:
    return _("The message's header fields are above the limit of %(limit)d bytes.") % {
        "limit": settings.PORTAL_ABUSE_MAX_HEADER_BYTES
    }


def _shown(name: str) -> str:
    return repr(name.strip()[:40])
