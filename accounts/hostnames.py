"""What a syntactically valid, publicly meaningful host name is."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

# Names that never denote a host on the public Internet (RFC 2606, 6761, 6762, 8375).
INTERNAL_SUFFIXES = (
    "localhost",
    "local",
    "internal",
    "intranet",
    "lan",
    "home.arpa",
    "corp",
    "test",
    "invalid",
    "example",
    "onion",
    "localdomain",
)


def normalise_hostname(value: str) -> str:
    """The ASCII (IDNA) lower-case form of a host name, without a trailing dot.

    Raises ValidationError with a message a person understands.
    """
    name = value.strip().rstrip(".").lower()
    if not name:
        raise ValidationError(_("Enter a host name."), code="required")
    # IDNA would silently drop invisible characters; a name that looks like another is refused.
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp") for char in name):
        raise ValidationError(
            _("“%(name)s” contains spaces or invisible characters."), params={"name": value}, code="invisible"
        )
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValidationError(_("“%(name)s” is not a valid host name."), params={"name": value}) from exc
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(_("“%(name)s” is not a valid host name."), params={"name": value})
    if any(ascii_name == s or ascii_name.endswith("." + s) for s in INTERNAL_SUFFIXES):
        raise ValidationError(
            _("“%(name)s” is an internal name; give the public name of the host."), params={"name": value}
        )
    if len(labels) < 2 or labels[-1].isdigit():
        raise ValidationError(
            _("“%(name)s” is not a fully qualified public name (for example mail.example.com)."),
            params={"name": value},
        )
    return ascii_name
