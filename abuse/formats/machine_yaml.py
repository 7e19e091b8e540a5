"""The machine-readable part of an X-ARF 0.2 report: a YAML mapping, read with bounds.

PyYAML composes the document into nodes and nothing is constructed from them: no tag makes an
object, and every value stays the text the sender wrote (`Version: 0.10`, `Report-ID: 0012` and an
ISO date are not turned into numbers or datetimes). Anchors and aliases are refused (a few
lines of aliases expand to billions of nodes), and so are parts over MAX_CHARS or nested deeper than
MAX_DEPTH; the sender's part is kept raw with the report either way.
"""

import yaml
from django.utils.translation import gettext as _

from abuse.formats.mail import Fields
from abuse.reports import clean_text

MAX_CHARS = 64 * 1024  # real report.txt parts are well under 2 KB
MAX_DEPTH = 8


class MachinePartRefused(ValueError):
    """This text is not an X-ARF machine-readable part we read; the message says why."""


class _BoundedComposer(yaml.BaseLoader):
    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise MachinePartRefused(_("YAML anchors and aliases are refused in an X-ARF report."))
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MachinePartRefused(_("The X-ARF report is nested deeper than %(n)d levels.") % {"n": MAX_DEPTH})
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def fields_of_yaml(text: str) -> Fields:
    """(key, value) pairs of a YAML mapping, in order; a list value gives one pair per item."""
    if len(text) > MAX_CHARS:
        raise MachinePartRefused(_("The X-ARF report is over %(n)d characters.") % {"n": MAX_CHARS})
    loader = _BoundedComposer(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise MachinePartRefused(_("Not YAML: %(error)s") % {"error": " ".join(str(exc).split())}) from None
    finally:
        loader.dispose()
    if not isinstance(node, yaml.MappingNode):
        raise MachinePartRefused(_("The X-ARF report is not a YAML mapping."))
    fields: Fields = []
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        fields.extend((key.value, _one_line(item.value)) for item in items if isinstance(item, yaml.ScalarNode))
    return fields


def _one_line(value: str) -> str:
    return " ".join(clean_text(value).split())
