"""Reads of the egress state: desired (the database), owed (the outbox) and actual (the targets)."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Account, ServerAddress
from egress.adapters import EgressError
from egress.models import (
    AccountEgress,
    BucketSize,
    ChangeStatus,
    EgressChange,
    EgressDecision,
    EgressSource,
    EgressState,
    TrafficCount,
    TrafficEvent,
)
from egress.targets import adapter_for, target_names

OPEN = (ChangeStatus.PENDING, ChangeStatus.FAILED)


def desired_egress(account: Account) -> AccountEgress:
    """The account's desired state, unsaved default (blocked) when none was ever set."""
    try:
        return account.egress
    except AccountEgress.DoesNotExist:
        return AccountEgress(account=account, desired=EgressState.BLOCKED, source=EgressSource.DEFAULT)


def allowed_accounts(account_ids: Iterable[int]) -> set[int]:
    """Which of these accounts may send on port 25 (their desired state is allowed)."""
    allowed = AccountEgress.objects.filter(account_id__in=list(account_ids), desired=EgressState.ALLOWED)
    return set(allowed.values_list("account_id", flat=True))


def _in_use() -> QuerySet[ServerAddress]:
    # Unordered: sorting 200,000 addresses would be a third of a reconciliation's database time.
    return ServerAddress.objects.in_use().order_by()


def _in_use_by_allowed() -> QuerySet[ServerAddress]:
    allowed = AccountEgress.objects.filter(desired=EgressState.ALLOWED).values("account_id")
    return _in_use().filter(server__account_id__in=allowed)


def allowed_addresses() -> set[str]:
    """Every address that may reach tcp/25 now: the active addresses of allowed accounts."""
    return set(_in_use_by_allowed().values_list("ip", flat=True))


def allowed_among(addresses: Iterable[str]) -> set[str]:
    """Which of these addresses an allowed account holds now (whoever held them before)."""
    return set(_in_use_by_allowed().filter(ip__in=list(addresses)).values_list("ip", flat=True))


def open_or_rechecked_addresses() -> dict[str, tuple[int, str]]:
    """Each address that a re-check watches -> (its account, the domain the account's opening declared):
    of accounts whose port 25 is open, and of those a re-check closed (watched until they are clean)."""
    watched = AccountEgress.objects.filter(
        Q(desired=EgressState.ALLOWED) | Q(desired=EgressState.BLOCKED, source=EgressSource.RECHECK)
    )
    domains = dict(watched.values_list("account_id", "sending_domain"))
    rows = _in_use().filter(server__account_id__in=watched.values("account_id")).values_list("ip", "server__account_id")
    return {ip: (account_id, domains[account_id]) for ip, account_id in rows}


def addresses_of(account_ids: Iterable[int]) -> set[str]:
    return set(_in_use().filter(server__account_id__in=list(account_ids)).values_list("ip", flat=True))


def decisions(account: Account) -> QuerySet[EgressDecision]:
    return EgressDecision.objects.filter(account=account).select_related("actor")


def open_changes(account: Account | None = None) -> QuerySet[EgressChange]:
    """Outbox rows not applied yet: pending (to be retried) or failed (gave up; reconciliation settles them)."""
    changes = EgressChange.objects.filter(status__in=OPEN)
    return changes.filter(account=account) if account is not None else changes


def targets_with_due_changes() -> list[str]:
    due = EgressChange.objects.filter(status=ChangeStatus.PENDING, next_attempt_at__lte=timezone.now())
    configured = set(target_names())
    return sorted(set(due.values_list("target", flat=True).distinct()) & configured)


def egress_report(account: Account) -> dict:
    """Desired state, the actual state of each address on each target, and the changes still owed."""
    egress = desired_egress(account)
    addresses = sorted(addresses_of([account.pk]))
    targets = []
    for name in target_names():
        try:
            actual = adapter_for(name).allowed()
        except EgressError as exc:
            targets.append({"target": name, "error": str(exc), "addresses": {}, "in_sync": False})
            continue
        states = {ip: EgressState.ALLOWED.value if ip in actual else EgressState.BLOCKED.value for ip in addresses}
        in_sync = all(state == egress.desired for state in states.values())
        targets.append({"target": name, "error": "", "addresses": states, "in_sync": in_sync})
    return {
        "account": {"reference": str(account.reference), "name": account.name},
        "desired": {
            "state": egress.desired,
            "source": egress.source,
            "reason": egress.reason,
            "changed_at": egress.changed_at.isoformat() if egress.pk else None,
        },
        "addresses": addresses,
        "targets": targets,
        "open_changes": [
            {
                "key": str(change.key),
                "target": change.target,
                "status": change.status,
                "attempts": change.attempts,
                "last_error": change.last_error,
                "created_at": change.created_at.isoformat(),
                "next_attempt_at": change.next_attempt_at.isoformat(),
                "addresses": change.addresses,
            }
            for change in open_changes(account)
        ],
    }


def traffic_of(account: Account, *, since: datetime, size: str) -> QuerySet[TrafficCount]:
    """The account's tcp/25 traffic per address and bucket from `since`, targets summed per address."""
    counts = TrafficCount.objects.filter(account=account, size=size, start__gte=since)
    return (
        counts.values("start", "ip")
        .annotate(connections=Sum("connections"), blocked=Sum("blocked"), over_rate=Sum("over_rate"))
        .order_by("start", "ip")
    )


def blocked_attempts_since(since: datetime) -> dict[int, int]:
    """Attempts on tcp/25 from addresses that were not allowed, per account, from `since` (minute buckets)."""
    counts = TrafficCount.objects.filter(size=BucketSize.MINUTE, start__gte=since, blocked__gt=0, account__isnull=False)
    return dict(counts.values("account").annotate(attempts=Sum("blocked")).values_list("account", "attempts"))


def bucket_size_for(hours: int) -> str:
    """Buckets for a look `hours` back: minutes for the last few hours, then hours while they are kept, then days."""
    if hours <= min(3, settings.PORTAL_TRAFFIC_KEEP_MINUTES_HOURS):
        return BucketSize.MINUTE
    if hours <= settings.PORTAL_TRAFFIC_KEEP_HOURS_DAYS * 24:
        return BucketSize.HOUR
    return BucketSize.DAY


def traffic_report(account: Account, *, hours: int) -> dict:
    """The account's tcp/25 traffic over the last `hours`: per address and target, per bucket; its
    over-rate events; and connections per day, all addresses and targets together."""
    since = timezone.now() - timedelta(hours=hours)
    size = bucket_size_for(hours)
    counts = TrafficCount.objects.filter(account=account, size=size, start__gte=since).order_by("ip", "target", "start")
    series: dict[tuple[str, str], list[dict]] = {}
    for count in counts:
        series.setdefault((count.ip, count.target), []).append(
            {
                "start": count.start.isoformat(),
                "connections": count.connections,
                "blocked": count.blocked,
                "over_rate": count.over_rate,
            }
        )
    days = TrafficCount.objects.filter(account=account, size=BucketSize.DAY, start__gte=since - timedelta(days=1))
    per_day = days.values("start").annotate(connections=Sum("connections"), blocked=Sum("blocked")).order_by("start")
    events = TrafficEvent.objects.filter(account=account, observed_at__gte=since).order_by("observed_at")
    return {
        "account": {"reference": str(account.reference), "name": account.name},
        "hours": hours,
        "bucket": size,
        "addresses": [{"ip": ip, "target": target, "buckets": rows} for (ip, target), rows in series.items()],
        "per_day": [
            {"day": row["start"].date().isoformat(), "connections": row["connections"], "blocked": row["blocked"]}
            for row in per_day
        ],
        "over_rate_events": [
            {
                "at": event.observed_at.isoformat(),
                "ip": event.ip,
                "target": event.target,
                "connections_in_minute": event.connections,
            }
            for event in events
        ],
    }


def daily_connections(account: Account, *, since: date) -> dict[str, dict[date, int]]:
    """New tcp/25 connections per address and day (UTC) from `since`, every target summed."""
    start = datetime.combine(since, time.min, tzinfo=UTC)
    rows = traffic_of(account, since=start, size=BucketSize.DAY)
    series: dict[str, dict[date, int]] = {}
    for row in rows:
        series.setdefault(row["ip"], {})[row["start"].astimezone(UTC).date()] = row["connections"]
    return series


def traffic_per_address(account: Account, *, since: date) -> list[dict]:
    """The account's tcp/25 figures per address from `since` (UTC days, targets summed), busiest first."""
    start = datetime.combine(since, time.min, tzinfo=UTC)
    days = TrafficCount.objects.filter(account=account, size=BucketSize.DAY, start__gte=start)
    return list(
        days.values("ip")
        .annotate(
            connections=Sum("connections"), blocked=Sum("blocked"), over_rate=Sum("over_rate"), last_day=Max("start")
        )
        .order_by("-connections", "ip")
    )


def traffic_decisions(account: Account, *, since: datetime) -> QuerySet[EgressDecision]:
    """The account's port-25 decisions taken because of its traffic from `since`, newest first."""
    return decisions(account).filter(source=EgressSource.TRAFFIC, decided_at__gte=since).order_by("-decided_at")


def blocks_since(account: Account, since: datetime) -> list[EgressDecision]:
    """The decisions that closed the account's port 25 from `since` (any source), oldest first."""
    closed = decisions(account).filter(to_state=EgressState.BLOCKED, from_state=EgressState.ALLOWED)
    return list(closed.filter(decided_at__gte=since).order_by("decided_at"))


def traffic_blocks(account_ids: Iterable[int], *, after: datetime) -> dict[int, int]:
    """How many temporary blocks after a burst on port 25 each of these accounts had after `after`."""
    blocks = EgressDecision.objects.filter(
        account_id__in=list(account_ids),
        source=EgressSource.TRAFFIC,
        to_state=EgressState.BLOCKED,
        until__isnull=False,
        decided_at__gt=after,
    )
    return dict(blocks.order_by().values("account").annotate(n=Count("id")).values_list("account", "n"))


def connections_per_account(day: datetime) -> dict[int, int]:
    """New tcp/25 connections per account on the UTC day starting at `day`, every address and target."""
    counts = TrafficCount.objects.filter(size=BucketSize.DAY, start=day, connections__gt=0, account__isnull=False)
    return dict(counts.values("account").annotate(sent=Sum("connections")).values_list("account", "sent"))


def expected_daily_volumes(account_ids: Iterable[int]) -> dict[int, int]:
    """The emails a day that the opening of each of these allowed accounts expects (where it said)."""
    allowed = AccountEgress.objects.filter(
        account_id__in=list(account_ids), desired=EgressState.ALLOWED, expected_daily_volume__isnull=False
    )
    return dict(allowed.values_list("account_id", "expected_daily_volume"))


def over_rate_events(account: Account, *, since: datetime) -> QuerySet[TrafficEvent]:
    return TrafficEvent.objects.filter(account=account, observed_at__gte=since).order_by("-observed_at")
