"""Which address sent the reported message, when the reporter does not say (no Source-IP).

The first public address in the original's Received headers is often the reporter's own relay.
Two rules, in this order: the hop whose address the provider's inventory held at the message's
time (any account: the portal knows its own addresses), else the first hop outside the
reporter's network (its domain, its internal addresses). Each result says which rule found it
and how sure it is; the policy weighs a derived address lower than a declared one.
"""

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.utils.translation import gettext as _
from publicsuffixlist import PublicSuffixList

from abuse.models import SourceCertainty, SourceRule
from abuse.reports import Unreadable, normalise_ip
from accounts.models import ServerAddress

BRACKETED = re.compile(r"\[([^\]\s]+)\]")
PARENTHESISED = re.compile(r"\(([0-9A-Fa-f:.]+)\)")
FROM_CLAUSE = re.compile(r"^\s*from\s+(.*?)(?:\s+by\s+(\S+)|;|$)", re.IGNORECASE | re.DOTALL)
DOCUMENTATION = [
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
HOST_NAME = re.compile(r"^\s*([A-Za-z0-9.-]+\.[A-Za-z0-9-]+)")


@dataclass(frozen=True)
class Sender:
    ip: str
    rule: str
    certainty: str
    note: str


@dataclass(frozen=True)
class Hop:
    """One Received header: who handed the message over (name, address) to whom (`by`)."""

    host: str
    address: str
    by: str


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def domain_of(name: str) -> str:
    """The registrable domain of a host name or mail address ("" if none)."""
    host = name.rpartition("@")[2].strip(" <>.").lower()
    return (_suffixes().privatesuffix(host) or "") if host else ""


def declared(value: str) -> Sender:
    """The address a reporter states, also when a host name or comment follows it ("1.2.3.4 (mx.example)")."""
    token = value.split()[0].rstrip(",;") if value.split() else value
    return Sender(normalise_ip(token), SourceRule.DECLARED, SourceCertainty.HIGH, "")


def hops(received: list[str]) -> list[Hop]:
    """The Received headers' hops with a public address, top (latest) first."""
    found = []
    for value in received:
        match = FROM_CLAUSE.match(value)
        if not match:
            continue
        clause = match.group(1)
        host = HOST_NAME.match(clause)
        for candidate in BRACKETED.findall(clause) + PARENTHESISED.findall(clause):
            try:
                address = normalise_ip(candidate.split("%")[0])
            except Unreadable:
                continue
            found.append(Hop(host.group(1).lower() if host else "", address, (match.group(2) or "").lower()))
            break
    return found


def is_public(ip: str) -> bool:
    """Whether an address can be anyone's on the Internet: not private, shared, loopback, link-local
    or otherwise reserved. The documentation ranges count as public, so that the RFCs' examples and
    the tests may use them; they are never routed, so no real report names one.
    """
    address = ipaddress.ip_address(ip)
    return address.is_global or any(address.version == net.version and address in net for net in DOCUMENTATION)


def sender_in(received: list[str], moment: datetime, reporter_domains: set[str]) -> Sender:
    """The sending address by the two rules; raises Unreadable when the chain names no candidate."""
    chain = hops(received)
    public = [hop for hop in chain if is_public(hop.address)]
    held = set(
        ServerAddress.objects.held_at(moment)
        .filter(ip__in={hop.address for hop in public})
        .values_list("ip", flat=True)
    )
    for hop in public:
        if hop.address in held:
            note = _("Received hop %(ip)s is one of our addresses at that time.") % {"ip": hop.address}
            return Sender(hop.address, SourceRule.INVENTORY, SourceCertainty.HIGH, note)
    own = set(reporter_domains) | {domain_of(chain[0].by)} if chain else set(reporter_domains)
    own.discard("")
    for hop in public:
        if hop.host and domain_of(hop.host) in own:
            continue
        certainty = SourceCertainty.MEDIUM if own else SourceCertainty.LOW
        note = _("First Received hop outside the reporter's network (%(domains)s): %(ip)s.") % {
            "domains": ", ".join(sorted(own)) or _("unknown"),
            "ip": hop.address,
        }
        return Sender(hop.address, SourceRule.OUTSIDE_HOP, certainty, note)
    raise Unreadable(_("No Source-IP, and no sending address in the original message's Received headers."))
