"""Re-checks of open accounts' addresses: blocklists, open relay, reverse DNS, spread over a period.

This module keeps the cycle (which address is due when) and the findings (what is wrong, since
when). Which addresses are open, and what a finding means for their account, are the abuse
policy's (abuse/recheck_policy.py): it calls `watch` with the open addresses, `recheck` with the due
ones, and weighs the changes it gets back.
"""

import hashlib
import ipaddress
import logging
import random
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from verification import zone_health
from verification.checks import dnsbl, relay_probe, relay_summary, reverse_dns, spf
from verification.checks.blocklist_zones import ERROR, LISTED, Zone, ip_zones
from verification.checks.relay_rules import CLOSED, OPEN
from verification.models import FindingKind, RecheckFinding, WatchedAddress
from verification.outcome import Deadline
from verification.public_address import NonPublicAddress, public_addresses
from verification.zone_budget import Pacer, give_back, grant_today

logger = logging.getLogger(__name__)

JITTER = 0.02  # of the period, added to each address's next moment: no two cycles line up exactly
CHUNK = 1000  # rows per bulk write


@dataclass(frozen=True)
class Observation:
    """What one re-check saw of one (address, kind, source): a finding present, or not."""

    ip: str
    kind: str
    source: str
    present: bool
    summary: str = ""
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """A finding that appeared (`new`) or went away, for the policy to weigh."""

    finding_id: int
    account_id: int
    ip: str
    kind: str
    source: str
    new: bool


def period() -> timedelta:
    return timedelta(hours=settings.PORTAL_RECHECK_PERIOD_HOURS)


def offset(ip: str, span: timedelta) -> timedelta:
    """Where in the period the address is due: a hash of it, so that the addresses spread evenly."""
    digest = int.from_bytes(hashlib.sha256(ip.encode()).digest()[:8], "big")
    return timedelta(seconds=digest % max(1, int(span.total_seconds())))


def _next_due(now: datetime, span: timedelta) -> datetime:
    return now + span + timedelta(seconds=random.uniform(0, JITTER * span.total_seconds()))  # noqa: S311


def watch(addresses: dict[str, tuple[int, str]], now: datetime | None = None) -> tuple[int, int]:
    """Put exactly these addresses on the cycle, each -> (its account's id, the domain whose SPF must cover
    it, or ""): (how many added, how many removed).

    A new address is due at its own moment of the coming period; one that changed account is due now.
    """
    now = now or timezone.now()
    span = period()
    rows = WatchedAddress.objects.values_list("ip", "account_id", "sending_domain")
    current = {ip: (account_id, domain) for ip, account_id, domain in rows}
    new = [
        WatchedAddress(ip=ip, account_id=account_id, sending_domain=domain, due_at=now + offset(ip, span))
        for ip, (account_id, domain) in addresses.items()
        if ip not in current
    ]
    WatchedAddress.objects.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)
    for ip, (account_id, domain) in addresses.items():
        if ip not in current or current[ip] == (account_id, domain):
            continue
        moved = {"due_at": now} if current[ip][0] != account_id else {}
        WatchedAddress.objects.filter(ip=ip).update(account_id=account_id, sending_domain=domain, **moved)
    gone = [ip for ip in current if ip not in addresses]
    for start in range(0, len(gone), CHUNK):
        WatchedAddress.objects.filter(ip__in=gone[start : start + CHUNK]).delete()
    return len(new), len(gone)


def due(now: datetime | None = None, limit: int | None = None) -> list[WatchedAddress]:
    """The addresses whose moment has come, the longest waiting first."""
    now = now or timezone.now()
    return list(WatchedAddress.objects.filter(due_at__lte=now).order_by("due_at", "pk")[: limit or CHUNK])


def watched_of(account_id: int) -> list[WatchedAddress]:
    return list(WatchedAddress.objects.filter(account_id=account_id).order_by("ip"))


def recheck(rows: list[WatchedAddress], now: datetime | None = None) -> list[Change]:
    """Re-check these addresses now and store what changed; the changes, for the policy to weigh.

    The zones' budgets come first: addresses beyond what a zone still allows today wait for the
    next day (spread over it). A zone whose test points fail is set aside for the batch, and a
    finding whose check could not decide (a zone's error, a DNS failure, an inconclusive probe)
    stays as it was.
    """
    now = now or timezone.now()
    if not rows:
        return []
    zones = zone_health.usable(ip_zones(), _versions(rows), now)
    rows = _within_budget(rows, zones, now)
    observations = _look_up(rows, zones)
    if settings.PORTAL_RECHECK_RELAY:
        observations += _probe(rows)
    changes = _record(observations, {row.ip: row.account_id for row in rows}, now)
    _reschedule(rows, now)
    return changes


def _versions(rows: list[WatchedAddress]) -> set[int]:
    return {ipaddress.ip_address(row.ip).version for row in rows}


def _within_budget(rows: list[WatchedAddress], zones: list[Zone], now: datetime) -> list[WatchedAddress]:
    """The rows every zone's budget allows today; the others are moved to the next UTC day."""
    granted = {zone.name: grant_today(zone.name, len(rows), now) for zone in zones}
    allowed = min(granted.values(), default=len(rows))
    for zone, count in granted.items():
        give_back(zone, count - allowed, now)
    if allowed < len(rows):
        later = rows[allowed:]
        tomorrow = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)
        for row in later:
            row.due_at = tomorrow + offset(row.ip, timedelta(days=1))
        WatchedAddress.objects.bulk_update(later, ["due_at"], batch_size=CHUNK)
        zone_health.deferred([name for name, count in granted.items() if count < len(rows)], len(later))
        logger.warning("Re-checks: %d addresses wait for the next day (a zone's daily budget is spent).", len(later))
    return rows[:allowed]


def _look_up(rows: list[WatchedAddress], zones: list[Zone]) -> list[Observation]:
    """Every (address, zone) pair and every address's reverse DNS, in parallel, each zone at its pace."""
    resolver = reverse_dns.resolver_for(None)
    pacers = {zone.name: Pacer(zone.name) for zone in zones}

    def listing(pair: tuple[str, Zone]) -> Observation | None:
        ip, zone = pair
        if not dnsbl.covers(zone, ip):
            return None
        pacers[zone.name].take()
        return _listing(ip, zone, dnsbl.lookup(zone, ip, resolver))

    pairs = [(row.ip, zone) for row in rows for zone in zones]
    with ThreadPoolExecutor(max_workers=settings.PORTAL_RECHECK_DNS_THREADS) as pool:
        listings = [found for found in pool.map(listing, pairs) if found is not None]
        names = []
        if settings.PORTAL_RECHECK_REVERSE_DNS:
            names = [found for found in pool.map(lambda ip: _reverse_name(ip, resolver), [r.ip for r in rows]) if found]
        covered = [row for row in rows if row.sending_domain]
        names += [found for found in pool.map(lambda row: _spf(row, resolver), covered) if found]
    # An error code in an answer (Spamhaus 127.255.255.x) condemns the zone; a query that timed out only itself.
    failing = {o.source: o.detail for o in listings if o.detail["status"] == ERROR and o.detail["codes"]}
    listings = [o for o in listings if o.detail["status"] != ERROR]
    for zone in zones:
        if zone.name in failing:
            dnsbl.forget_health(zone)
            zone_health.set_aside(zone.name, "; ".join(failing[zone.name]["meanings"]))
    zone_health.count_queries({zone.name: sum(1 for _ip, z in pairs if z is zone) for zone in zones})
    return [o for o in listings if o.source not in failing] + names


def _listing(ip: str, zone: Zone, answer: dict) -> Observation:
    listed = answer["status"] == LISTED and not answer["policy"]
    summary = ""
    if listed:
        summary = "%s: %s" % (zone.name, "; ".join(answer["meanings"]))  # noqa: UP031  shown with its zone
    detail = {**answer, "delist_url": zone.delist_url}
    return Observation(ip, FindingKind.LISTED, zone.name, listed, summary, detail)


def _reverse_name(ip: str, resolver) -> Observation | None:
    try:
        names = reverse_dns.ptr_names(ip, resolver)
        confirmed = [name for name in names if ip in reverse_dns.forward_addresses(name, resolver)]
    except reverse_dns.DNS_FAILURES:
        return None  # could not decide: the finding stays as it was
    detail = {"ptr": names, "forward_confirmed": confirmed}
    if confirmed:
        return Observation(ip, FindingKind.REVERSE_DNS, "", False, detail=detail)
    summary = f"{names[0]} does not point back to {ip}" if names else f"{ip} has no reverse DNS name"
    return Observation(ip, FindingKind.REVERSE_DNS, "", True, summary, detail)


def _spf(row: WatchedAddress, resolver) -> Observation | None:
    """Whether the sending domain's SPF still authorises the address (RFC 7208 check_host)."""
    evaluation = spf.evaluate(resolver, row.ip, row.sending_domain, seconds=settings.PORTAL_DNS_TIMEOUT * 4)
    if evaluation.result == "temperror":
        return None  # could not decide: the finding stays as it was
    detail = {"domain": row.sending_domain, **evaluation.as_dict()}
    if evaluation.result == "pass":
        return Observation(row.ip, FindingKind.SPF, "", False, detail=detail)
    summary = f"the SPF record of {row.sending_domain} no longer authorises {row.ip} ({evaluation.result})"
    return Observation(row.ip, FindingKind.SPF, "", True, summary, detail)


def _probe(rows: list[WatchedAddress]) -> list[Observation]:
    def one(ip: str) -> Observation | None:
        try:
            public_addresses(ip)
        except NonPublicAddress:
            return None
        report = relay_probe.probe(
            ip, settings.PORTAL_SMTP_PROBE_PORT, deadline=Deadline(settings.PORTAL_SMTP_PROBE_DEADLINE)
        )
        if report.verdict not in (OPEN, CLOSED):
            return None
        outcome = relay_summary.outcome_of(report)
        return Observation(ip, FindingKind.OPEN_RELAY, "", report.verdict == OPEN, outcome.summary, outcome.evidence)

    with ThreadPoolExecutor(max_workers=settings.PORTAL_RECHECK_PROBE_THREADS) as pool:
        return [found for found in pool.map(one, [row.ip for row in rows]) if found is not None]


def _record(observations: list[Observation], accounts: dict[str, int], now: datetime) -> list[Change]:
    """Store what changed: a finding seen again moves `last_seen`, a new one is a row, a gone one ends."""
    current = {
        (f.ip, f.kind, f.source): f for f in _in_chunks(RecheckFinding.objects.current(), "ip__in", list(accounts))
    }
    seen, gone, new = [], [], []
    for seen_now in observations:
        finding = current.get((seen_now.ip, seen_now.kind, seen_now.source))
        if seen_now.present and finding is not None:
            seen.append(finding.pk)
        elif seen_now.present:
            new.append(_new_finding(seen_now, accounts[seen_now.ip], now))
        elif finding is not None:
            gone.append(finding)
    for start in range(0, len(seen), CHUNK):
        RecheckFinding.objects.filter(pk__in=seen[start : start + CHUNK]).update(last_seen=now)
    RecheckFinding.objects.filter(pk__in=[f.pk for f in gone]).update(ended_at=now, last_seen=now)
    created = RecheckFinding.objects.bulk_create(new, batch_size=CHUNK)
    return [_change(f, new=True) for f in created] + [_change(f, new=False) for f in gone]


def _new_finding(seen: Observation, account_id: int, now: datetime) -> RecheckFinding:
    return RecheckFinding(
        ip=seen.ip,
        account_id=account_id,
        kind=seen.kind,
        source=seen.source,
        summary=seen.summary,
        detail=seen.detail,
        first_seen=now,
        last_seen=now,
    )


def _change(finding: RecheckFinding, *, new: bool) -> Change:
    return Change(finding.pk, finding.account_id, finding.ip, finding.kind, finding.source, new)


def _in_chunks(queryset, lookup: str, values: list) -> Iterable:
    for start in range(0, len(values), CHUNK):
        yield from queryset.filter(**{lookup: values[start : start + CHUNK]})


def _reschedule(rows: list[WatchedAddress], now: datetime) -> None:
    span = period()
    for row in rows:
        row.last_checked_at, row.due_at, row.checks = now, _next_due(now, span), F("checks") + 1
    WatchedAddress.objects.bulk_update(rows, ["last_checked_at", "due_at", "checks"], batch_size=CHUNK)
