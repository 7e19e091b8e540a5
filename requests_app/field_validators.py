"""Validators of single answers of an unblock request, shared by the web form and the API."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.hostnames import normalise_hostname
from verification.public_address import (
    NonPublicAddress,
    ResolverUnavailable,
    UnresolvableHost,
    ip_literal,
    public_addresses,
)


def validate_public_host(host: str) -> None:
    """Refuse internal names and addresses that are plainly so (a literal, an internal suffix, a name that resolves
    to one). A name that does not resolve, or a resolver that does not answer, is the checks' to report: they
    resolve again at run time with the same guard, and the customer may fix DNS after filing."""
    literal = ip_literal(host)
    if literal is None:
        normalise_hostname(host)
    try:
        public_addresses(host)
    except NonPublicAddress as exc:
        raise ValidationError(
            _("%(host)s points to %(address)s, which is not a public Internet address."),
            params={"host": host, "address": exc.address},
            code="non_public",
        ) from exc
    except (UnresolvableHost, ResolverUnavailable):
        return


def validate_public_url(value: str) -> None:
    """An http(s) URL whose host is on the public Internet (its syntax is the URL field's job)."""
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValidationError(_("Enter a full web address, for example https://example.com."), code="invalid") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(_("Enter a web address starting with https:// or http://."), code="scheme")
    if parts.username or parts.password:
        raise ValidationError(_("Leave the user name and password out of the address."), code="credentials")
    validate_public_host(parts.hostname or "")


def validate_template_size(value: str) -> None:
    limit = settings.PORTAL_MAX_TEMPLATE_BYTES
    size = len(value.encode("utf-8"))
    if size > limit:
        raise ValidationError(
            _("The example email is %(size)d KB; keep it under %(limit)d KB (leave images out)."),
            params={"size": size // 1000, "limit": limit // 1000},
            code="too_large",
        )
