"""Source IP to account, as the inventory stood when the abuse happened (addresses move)."""

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from accounts.models import ServerAddress

Sighting = tuple[str, datetime]  # an address seen sending, and when


def holders(sightings: Iterable[Sighting]) -> dict[Sighting, ServerAddress | None]:
    """For each sighting, the address row that held the IP then (with server and account), or None.

    One query for all of them: the worker matches a burst of reports at once. An IP's history is
    short (the rows of the servers that held it), so the moment is picked out of it here.
    """
    sightings = set(sightings)
    history: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, list[ServerAddress]] = defaultdict(list)
    rows = ServerAddress.objects.filter(ip__in={ip for ip, _moment in sightings}).select_related("server__account")
    for address in rows.order_by("-assigned_at", "-pk"):
        history[ipaddress.ip_address(address.ip)].append(address)
    return {
        (ip, moment): next((a for a in history[ipaddress.ip_address(ip)] if a.was_held_at(moment)), None)
        for ip, moment in sightings
    }


def address_at(ip: str, moment: datetime) -> ServerAddress | None:
    """The address row that held `ip` at `moment`, or None: the report is unmatched."""
    return holders([(ip, moment)])[(ip, moment)]
