"""A check's evidence as lines a customer reads ("Answered: 250 OK"), not as JSON."""

from django.utils.translation import gettext as _


def _label(key: object) -> str:
    return str(key).replace("_", " ").strip().capitalize()


def _scalar(value: object) -> str:
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if value is None or value == "":
        return _("none")
    return str(value)


def _lines(value: object, indent: str) -> list[str]:
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and any(isinstance(x, dict | list) for x in _items(item)):
                lines += [f"{indent}{_label(key)}:", *_lines(item, indent + "  ")]
            else:
                lines.append(f"{indent}{_label(key)}: {_inline(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            nested = _lines(item, indent + "  ")
            lines += [f"{indent}- {nested[0].strip()}", *nested[1:]] if nested else []
        return lines
    return [f"{indent}{_scalar(value)}"]


def _items(value: dict | list) -> list:
    return list(value.values()) if isinstance(value, dict) else list(value)


def _inline(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value) if value else _("none")
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_scalar(v)}" for k, v in value.items()) if value else _("none")
    return _scalar(value)


def in_words(evidence: object) -> str:
    """One line per fact, nested facts indented; empty when there is no evidence."""
    if not evidence:
        return ""
    return "\n".join(_lines(evidence, ""))
