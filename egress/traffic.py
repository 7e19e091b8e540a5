"""The traffic collector: every target's cumulative tcp/25 counters -> a compact time series.

Each run reads every target, turns its counters into counts since the last reading (a counter
below its last value started again from zero, and one seen for the first time began at zero: the
whole value is new), adds them to the minute, hour and day buckets of each address, records
sources over the kernel-side rate as events, and deletes buckets past their retention. Only
addresses that did something are written, so the cost of a run follows the traffic, not the
number of accounts.

An address missing from a reading keeps its last one: the kernel can leave elements out of a
listing made while it resizes the set, and forgetting them would count their whole value again
when they are back. Readings that have not moved for FORGET_READINGS_AFTER are deleted (a target
forgets an idle address sooner: nftables after a day), so that the table does not grow for ever.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ServerAddress
from egress.adapters import Counters
from egress.models import BucketSize, CounterKind, TrafficCount, TrafficEvent, TrafficReading
from egress.outbox import lock_target
from egress.targets import adapter_for, target_names

logger = logging.getLogger(__name__)

_CHUNK = 5_000
FORGET_READINGS_AFTER = timedelta(days=2)


@dataclass
class Collected:
    """What one run stored: counted addresses and over-rate events per target, and failures."""

    addresses: dict[str, int] = field(default_factory=dict)
    events: list[int] = field(default_factory=list)  # TrafficEvent ids created by this run
    errors: dict[str, str] = field(default_factory=dict)


def collect() -> Collected:
    """Read every target and store what it counted since the last run. Safe to run twice at once."""
    collected = Collected()
    for target in target_names():
        read_at = timezone.now()
        try:
            counters = adapter_for(target).counters()
        except Exception as exc:  # whatever the backend raised: the other targets are still read
            logger.warning("Traffic of target %s could not be read: %s", target, exc)
            collected.errors[target] = str(exc) or type(exc).__name__
            continue
        stored = _store(target, counters, read_at)
        if stored is not None:
            collected.addresses[target], events = stored
            collected.events += events
    expire(timezone.now())
    return collected


@transaction.atomic
def _store(target: str, counters: Counters, read_at: datetime) -> tuple[int, list[int]] | None:
    row = lock_target(target)  # the target's lock: one store at a time, in the order of the readings
    if row.traffic_read_at is not None and row.traffic_read_at > read_at:
        return None  # another run read this target later than we did: its counters are newer
    row.traffic_read_at = read_at
    row.save(update_fields=["traffic_read_at"])
    connections = _deltas(target, CounterKind.CONNECTIONS, counters.connections, read_at)
    blocked = _deltas(target, CounterKind.BLOCKED, counters.blocked, read_at)
    over_rate = _new_over_rate(target, counters.over_rate, read_at)
    touched = set(connections) | set(blocked) | set(over_rate)
    if not touched:
        return 0, []
    holders = _holders(touched)
    _add_to_buckets(target, read_at, holders, connections, blocked, over_rate)
    minute_connections = _minute_connections(target, bucket_start(read_at, BucketSize.MINUTE), over_rate)
    events = TrafficEvent.objects.bulk_create(
        TrafficEvent(
            target=target,
            ip=ip,
            account_id=holders.get(ip),
            observed_at=read_at,
            connections=minute_connections.get(ip, 0),
        )
        for ip in sorted(over_rate)
    )
    return len(touched), [event.pk for event in events]


def _deltas(target: str, kind: str, values: dict[str, int], read_at: datetime) -> dict[str, int]:
    """Counts since the last reading, and the readings moved on (only those that changed)."""
    last = dict(TrafficReading.objects.filter(target=target, kind=kind).values_list("ip", "value"))
    deltas, changed = {}, []
    for ip, value in values.items():
        before = last.get(ip)
        if before == value:
            continue
        deltas[ip] = value - before if before is not None and value > before else value  # below: a reset
        changed.append(TrafficReading(target=target, kind=kind, ip=ip, value=value, changed_at=read_at))
    TrafficReading.objects.bulk_create(
        changed,
        batch_size=_CHUNK,
        update_conflicts=True,
        unique_fields=["target", "kind", "ip"],
        update_fields=["value", "changed_at"],
    )
    return {ip: delta for ip, delta in deltas.items() if delta}


def _new_over_rate(target: str, sources: Iterable[str], now: datetime) -> set[str]:
    """Sources over the rate not already recorded while they stayed in the target's over-rate set."""
    sources = set(sources)
    if not sources:
        return set()
    since = now - timedelta(seconds=settings.PORTAL_TRAFFIC_OVER_RATE_HOLD)
    known = TrafficEvent.objects.filter(target=target, ip__in=sources, observed_at__gt=since)
    return sources - set(known.values_list("ip", flat=True))


def _holders(addresses: set[str]) -> dict[str, int]:
    """Which account holds each address now (addresses of nobody are left out)."""
    held = ServerAddress.objects.in_use().filter(ip__in=sorted(addresses))
    return dict(held.values_list("ip", "server__account_id"))


def _add_to_buckets(
    target: str,
    read_at: datetime,
    holders: dict[str, int],
    connections: dict[str, int],
    blocked: dict[str, int],
    over_rate: set[str],
) -> None:
    """Add the counts to each address's minute, hour and day buckets: one statement, run for every row.

    The ORM's upsert can only overwrite a column, not add to it; this adds in the database, so a
    bucket is neither read first nor lost to a concurrent writer. The conflict target is named.
    """
    table, fields = TrafficCount._meta.db_table, {f.name: f for f in TrafficCount._meta.concrete_fields}
    names = ["size", "start", "target", "ip", "account", "connections", "blocked", "over_rate"]
    columns = ", ".join(fields[name].column for name in names)
    added = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in ("connections", "blocked", "over_rate"))
    # The table and columns come from the model's own definition; the values go as parameters.
    statement = (
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(names))}) "  # noqa: S608
        f"ON CONFLICT (size, start, target, ip) DO UPDATE SET {added}, "
        f"account_id = COALESCE(excluded.account_id, {table}.account_id)"
    )
    touched = set(connections) | set(blocked) | over_rate
    addresses = {ip: fields["ip"].get_db_prep_value(ip, connection) for ip in touched}  # once each: it is slow
    rows = []
    for size in BucketSize.values:
        start = fields["start"].get_db_prep_value(bucket_start(read_at, size), connection)
        for ip, prepared in sorted(addresses.items()):
            counts = (connections.get(ip, 0), blocked.get(ip, 0), int(ip in over_rate))
            rows.append((size, start, target, prepared, holders.get(ip), *counts))
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)


def _minute_connections(target: str, start: datetime, addresses: set[str]) -> dict[str, int]:
    counts = TrafficCount.objects.filter(size=BucketSize.MINUTE, start=start, target=target, ip__in=addresses)
    return dict(counts.values_list("ip", "connections"))


def bucket_start(moment: datetime, size: str) -> datetime:
    """The start (UTC) of the bucket of `size` holding `moment`."""
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if size == BucketSize.MINUTE:
        return moment
    moment = moment.replace(minute=0)
    return moment if size == BucketSize.HOUR else moment.replace(hour=0)


def expire(now: datetime) -> None:
    """Delete buckets past their retention (their counts live on in the coarser buckets), and readings
    that have not moved for FORGET_READINGS_AFTER."""
    keep = {
        BucketSize.MINUTE: timedelta(hours=settings.PORTAL_TRAFFIC_KEEP_MINUTES_HOURS),
        BucketSize.HOUR: timedelta(days=settings.PORTAL_TRAFFIC_KEEP_HOURS_DAYS),
        BucketSize.DAY: timedelta(days=settings.PORTAL_TRAFFIC_KEEP_DAYS_DAYS),
    }
    for size, age in keep.items():
        TrafficCount.objects.filter(size=size, start__lt=bucket_start(now - age, size)).delete()
    TrafficEvent.objects.filter(observed_at__lt=now - keep[BucketSize.DAY]).delete()
    TrafficReading.objects.filter(changed_at__lt=now - FORGET_READINGS_AFTER).delete()
