"""JSON with a nesting limit: reading what clients send, and showing what was stored.

Python's json module recurses once per level: a body of 100,000 `[` raises RecursionError (a 500,
not a 400), and a document that parsed at 900 levels still breaks whatever later walks it
(`json.dumps(indent=…)`, templates). Every API reads JSON through `loads` (the default DRF
parser, common.api_parsers), and stored JSON is shown through `dumps_for_display`.
"""

import json

from django.conf import settings
from django.utils.translation import gettext as _


class TooDeep(ValueError):
    """Nested deeper than PORTAL_JSON_MAX_DEPTH; the message says so in words a client understands."""


def max_depth() -> int:
    return settings.PORTAL_JSON_MAX_DEPTH


def depth(value: object) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0), walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _too_deep() -> TooDeep:
    return TooDeep(_("The JSON is nested more than %(limit)d levels deep.") % {"limit": max_depth()})


def loads(raw: bytes | str, **options: object) -> object:
    """json.loads (with its options), refusing documents nested deeper than the limit (TooDeep, a ValueError)."""
    try:
        value = json.loads(raw, **options)
    except RecursionError:
        raise _too_deep() from None
    if depth(value) > max_depth():
        raise _too_deep()
    return value


class StoredJSONDecoder(json.JSONDecoder):
    """A JSONField's decoder for what clients sent before the limit: too deep to read is a note, never a 500.

    The stored text stays as it was (so does the raw report); only what is read from it is replaced.
    """

    def decode(self, s: str, *args: object, **kwargs: object) -> object:
        try:
            return super().decode(s, *args, **kwargs)
        except RecursionError:
            return {"unreadable": _("Nested too deeply to read here; the raw report has it as received.")}


def _clip(value: object, room: int) -> object:
    if not isinstance(value, dict | list):
        return value
    if room == 0:
        return _("[… nested deeper than %(limit)d levels]") % {"limit": max_depth()}
    if isinstance(value, dict):
        return {key: _clip(child, room - 1) for key, child in value.items()}
    return [_clip(child, room - 1) for child in value]


def clipped(value: object) -> object:
    """A copy of stored data of any shape, levels below the limit replaced by a note: safe to walk."""
    return _clip(value, max_depth())


def dumps_for_display(value: object) -> str:
    """Indented JSON of stored data of any shape (clipped)."""
    return json.dumps(clipped(value), indent=2, ensure_ascii=False)
