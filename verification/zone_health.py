"""Whether a blocklist zone's answers are trusted, by its RFC 5782 test points (section 5).

A zone that lists its "must not be listed" point lists everything, one that does not list its
"must be listed" point lists nothing, and one that answers with an error code (Spamhaus
127.255.255.x: a public resolver, no key, over quota) says nothing about any address. Each is set
aside: its answers are not taken (nobody is listed, nobody is cleared by it) and staff see it in
the admin and on /metrics until the zone answers properly again.
"""

import logging
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from verification.checks import dnsbl, reverse_dns
from verification.checks.blocklist_zones import Zone
from verification.models import ZoneStatus

logger = logging.getLogger(__name__)


def usable(zones: list[Zone], versions: set[int], now: datetime | None = None) -> list[Zone]:
    """The zones whose test points answer as they must, for these address families; the others set aside."""
    now = now or timezone.now()
    resolver = reverse_dns.resolver_for(None)
    found = []
    for zone in zones:
        try:
            for version in sorted(versions):
                dnsbl.ensure_answers(zone, resolver, version)
        except dnsbl.ZoneUnusable as exc:
            set_aside(zone.name, str(exc), now)
            continue
        _trusted(zone.name, now)
        found.append(zone)
    return found


def set_aside(name: str, reason: str, now: datetime | None = None) -> None:
    """Stop taking the zone's answers, and say why; staff are told by the admin and /metrics."""
    now = now or timezone.now()
    status, _created = ZoneStatus.objects.get_or_create(zone=name)
    if status.usable:
        logger.warning("Blocklist zone %s set aside: %s", name, reason)
        status.set_aside_at = now
    status.usable, status.reason, status.checked_at = False, reason, now
    status.save()


def _trusted(name: str, now: datetime) -> None:
    updated = ZoneStatus.objects.filter(zone=name).update(usable=True, reason="", set_aside_at=None, checked_at=now)
    if not updated:
        ZoneStatus.objects.get_or_create(zone=name, defaults={"checked_at": now})


def deferred(names: list[str], count: int) -> None:
    """Count re-checks moved to the next day because these zones' budgets were spent."""
    ZoneStatus.objects.filter(zone__in=names).update(deferred=F("deferred") + count)


def count_queries(per_zone: dict[str, int]) -> None:
    for name, count in per_zone.items():
        if count:
            ZoneStatus.objects.filter(zone=name).update(queries=F("queries") + count)


def set_aside_zones() -> list[ZoneStatus]:
    return list(ZoneStatus.objects.filter(usable=False))
