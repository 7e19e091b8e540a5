"""A report as the intake understands it, whatever channel it came through (JSON, ARF, the admin)."""

import hashlib
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

# A reporter's clock may run a little ahead; a report further in the future is a mistake.
CLOCK_SKEW = timedelta(hours=1)


class Unreadable(ValueError):
    """The report cannot be accepted; the message says why, in words the reporter understands."""


@dataclass(frozen=True)
class ReportInput:
    """One report, from any channel and format. Built only valid: the address normalised, the time
    aware and not in the future (else Unreadable), so no caller checks these on its own.
    """

    category: str
    source_ip: str
    occurred_at: datetime
    reference: str = ""
    reported_domain: str = ""
    original_mail_from: str = ""
    original_headers: str = ""
    original_message_id: str = ""
    evidence: dict = field(default_factory=dict)
    format: str = "json"  # abuse.models.ReportFormat
    source_rule: str = "declared"  # abuse.models.SourceRule: how source_ip was found
    source_certainty: str = "high"  # abuse.models.SourceCertainty
    unverified: bool = False  # mail whose sender nothing proves: weighs nothing until a person confirms it

    def __post_init__(self) -> None:
        object.__setattr__(self, "source_ip", normalise_ip(self.source_ip))
        object.__setattr__(self, "occurred_at", check_time(self.occurred_at))

    def fingerprint(self) -> str:
        """Same incident, same fingerprint, whoever delivers it and however often."""
        if self.original_message_id:
            about = self.original_message_id
        elif self.original_headers or self.evidence:
            about = hashlib.sha256((self.original_headers or repr(sorted(self.evidence.items()))).encode()).hexdigest()
        else:  # nothing shows which message it was: the reporter's reference tells reports apart
            about = "reference:" + self.reference
        basis = "|".join([self.category, self.source_ip, self.occurred_at.isoformat(), about])
        if self.unverified:  # a forged copy sent first must not take the place of the reporter's own report
            basis += "|unverified"
        return hashlib.sha256(basis.encode()).hexdigest()


def normalise_ip(value: str) -> str:
    """The form the inventory stores: compressed, IPv4-mapped IPv6 as IPv4. Raises Unreadable."""
    text = value.strip().strip("[]")
    if text.lower().startswith("ipv6:"):
        text = text[5:]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise Unreadable(_("%(value)r is not an IP address.") % {"value": value}) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.compressed


def check_time(moment: datetime) -> datetime:
    """An aware time not in the future (beyond a reporter's clock skew). Raises Unreadable."""
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    if moment > timezone.now() + CLOCK_SKEW:
        raise Unreadable(_("The report's time %(time)s is in the future.") % {"time": moment.isoformat()})
    return moment


def clean_text(value: object) -> str:
    """Text the database stores: bytes that were not UTF-8 replaced, no NUL characters."""
    text = str(value)
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "replace")
    return data.decode("utf-8", "replace").replace("\x00", "")
