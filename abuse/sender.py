"""Which address sent the reported message, when the reporter does not say (no Source-IP).

Every Received header below the reporter's own servers was written by the sender, who may name
any address there, a customer's included. So only the reporter's side is read: the sender is the
host that handed the message to the reporter's servers (abuse.models.Reporter.receives_as). The
result says how it was found and how sure it is; the policy weighs a derived address lower than a
declared one.
"""

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.utils.translation import gettext as _
from publicsuffixlist import PublicSuffixList

from abuse.models import SourceCertainty, SourceRule
from abuse.reports import Unreadable, normalise_ip
from accounts.models import ServerAddress

BRACKETED = re.compile(r"\[([^\]\s]+)\]")
COMMENT = re.compile(r"\(([^()]*)\)")
# Exim quotes the client's HELO inside its comment ("([192.0.2.1] helo=[198.51.100.7])"): the client's claim.
HELO_QUOTED = re.compile(r"helo=\S*", re.IGNORECASE)
FROM_CLAUSE = re.compile(r"^\s*from\s+(.*?)(?:\s+by\s+([^\s;]+)|;|$)", re.IGNORECASE | re.DOTALL)
DOCUMENTATION = [
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
# "(name [address])": the name the receiving server looked up (Postfix, Sendmail); "unknown" is no name.
VERIFIED_NAME = re.compile(r"^\s*([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\.?\s+\[")


@dataclass(frozen=True)
class Sender:
    ip: str
    rule: str
    certainty: str
    note: str


@dataclass(frozen=True)
class Hop:
    """One Received header: who handed the message over (its address, and the name the receiving
    server found for it in reverse DNS, "" if none) to whom (`by`)."""

    verified_name: str
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
    """The Received headers that name the sending address, top (latest) first."""
    found = []
    for value in received:
        match = FROM_CLAUSE.match(value)
        if match and (peer := _peer(match.group(1))) is not None:
            found.append(Hop(*peer, (match.group(2) or "").lower()))
    return found


def _peer(clause: str) -> tuple[str, str] | None:
    """(verified name or "", address) of the client, as the receiving server wrote them in its comment.

    The HELO name comes first in the clause ("from [198.51.100.7] (unknown [192.0.2.1])") and is the
    client's own claim: the address is read from the server's comment, the last one, and only
    without one from a bracketed literal of the clause (Exim's "from [192.0.2.1] (helo=...)").
    """
    for comment in reversed(COMMENT.findall(clause)):
        comment = HELO_QUOTED.sub(" ", comment)
        for candidate in [*BRACKETED.findall(comment), comment.strip()]:
            if (address := _address(candidate)) is not None:
                name = VERIFIED_NAME.match(comment)
                return (name.group(1).lower() if name else "", address)
    for candidate in BRACKETED.findall(COMMENT.sub(" ", clause)):
        if (address := _address(candidate)) is not None:
            return ("", address)
    return None


def _address(text: str) -> str | None:
    try:
        return normalise_ip(text.split("%")[0])
    except Unreadable:
        return None


def is_public(ip: str) -> bool:
    """Whether an address can be anyone's on the Internet: not private, shared, loopback, link-local
    or otherwise reserved. The documentation ranges count as public, so that the RFCs' examples and
    the tests may use them; they are never routed, so no real report names one.
    """
    address = ipaddress.ip_address(ip)
    return address.is_global or any(address.version == net.version and address in net for net in DOCUMENTATION)


def sender_in(received: list[str], moment: datetime, reporter_domains: Iterable[str]) -> Sender:
    """The host that handed the message to the reporter's servers; raises Unreadable when there is none.

    Only the hops the reporter's side wrote are read: walking down from the top, past its internal
    hand-offs, to the first hop received by its servers (`by` in its domains) from outside. Anything
    below was written by whoever sent the message, so an address of ours there is shown in the note
    and weighs nothing. `reporter_domains` come from the reporter's configuration; for a reporter
    nobody vouches for they are read from the chain itself (the first public hop's `by`).
    """
    chain = hops(received)
    own = {name.lower() for name in reporter_domains} - {""}
    configured = bool(own)
    for index, hop in enumerate(chain):
        if not is_public(hop.address):
            continue  # a hand-off inside a network: never the sender, whoever wrote it
        if not own:
            own = {domain_of(hop.by)} - {""}
        if not _within(hop.by, own):
            break  # not written by the reporter's servers: nothing below is theirs either
        if _within(hop.verified_name, own):
            continue  # between the reporter's own servers, as their reverse DNS names them
        notes = [
            _("First Received hop into the reporter's servers (%(domains)s): %(ip)s.")
            % {"domains": ", ".join(sorted(own)), "ip": hop.address}
        ]
        notes += _ours_below(chain[index + 1 :], moment)
        certainty = SourceCertainty.MEDIUM if configured else SourceCertainty.LOW  # else guessed from the chain
        return Sender(hop.address, SourceRule.OUTSIDE_HOP, certainty, " ".join(notes))
    raise Unreadable(
        _("No Source-IP, and no sending address in the Received headers of the reporter's servers (%(domains)s).")
        % {"domains": ", ".join(sorted(own)) or _("unknown")}
    )


def _within(host: str, domains: set[str]) -> bool:
    """Whether a host name is one of these domains or under one."""
    host = host.strip(".").lower()
    return bool(host) and any(host == domain or host.endswith("." + domain) for domain in domains)


def _ours_below(chain: list[Hop], moment: datetime) -> list[str]:
    """Notes on our addresses named below the reporter's boundary: shown to the desk, weighing nothing."""
    public = {hop.address for hop in chain if is_public(hop.address)}
    held = ServerAddress.objects.held_at(moment).filter(ip__in=public).values_list("ip", flat=True)
    return [
        _(
            "Received hop %(ip)s below the reporter's servers was one of our addresses then; the sender "
            "writes those lines, so it is not taken as the source."
        )
        % {"ip": ip}
        for ip in sorted(set(held))
    ]
