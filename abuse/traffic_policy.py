"""The traffic policy: what the portal does with what the enforcement points saw on port 25.

A source over the kernel-side rate blocks its account's port 25 for PORTAL_TRAFFIC_BLOCK_SECONDS,
doubled for each earlier traffic block within PORTAL_TRAFFIC_REPEAT_DAYS; the
PORTAL_TRAFFIC_BLOCKS_TO_REVOKE-th is a revocation for the abuse desk, with the way back of abuse
revocations. A temporary block is an egress decision with an expiry: egress lifts it by itself.
An account whose blocked servers tried port 25 more than PORTAL_TRAFFIC_BLOCKED_TRIES_PER_HOUR
times in an hour is told, at most once a day: that is how a compromised server shows itself.
An account that opened more than PORTAL_TRAFFIC_DECLARED_MULTIPLE times the connections its request
declared emails, over a whole UTC day, is warned and flagged on its abuse timeline; not blocked.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from abuse import notifications
from abuse.models import AbuseEvent, EventKind
from abuse.revocations import revoke
from accounts.models import Account
from egress.models import EgressDecision, EgressSource, EgressState, TrafficEvent
from egress.selectors import (
    allowed_accounts,
    blocked_attempts_since,
    connections_per_account,
    desired_egress,
    expected_daily_volumes,
)
from egress.services import deciding_together, set_desired_state

BLOCK, REVOKE = "block", "revoke"


@dataclass(frozen=True)
class TrafficVerdict:
    account_id: int
    action: str  # BLOCK or REVOKE
    seconds: float  # how long a temporary block lasts (0 for a revocation)


def weigh_bursts(event_ids: list[int]) -> list[TrafficVerdict]:
    """Block (or revoke) the accounts whose addresses these over-rate events name, once each."""
    events = TrafficEvent.objects.filter(pk__in=event_ids, account__isnull=False).order_by("observed_at", "id")
    by_account: dict[int, list[TrafficEvent]] = defaultdict(list)
    for event in events:
        by_account[event.account_id].append(event)
    verdicts = []
    for account_id, seen in sorted(by_account.items()):
        verdict = _weigh(account_id, seen)
        if verdict is not None:
            verdicts.append(verdict)
    return verdicts


@transaction.atomic
def _weigh(account_id: int, events: list[TrafficEvent]) -> TrafficVerdict | None:
    account = Account.objects.select_for_update().get(pk=account_id)
    if desired_egress(account).desired != EgressState.ALLOWED:
        return None  # closed already (by an earlier burst, a report or staff): nothing to stop
    now = timezone.now()
    earlier = EgressDecision.objects.filter(
        account=account,
        source=EgressSource.TRAFFIC,
        to_state=EgressState.BLOCKED,
        until__isnull=False,
        decided_at__gte=now - timedelta(days=settings.PORTAL_TRAFFIC_REPEAT_DAYS),
    ).count()
    reason = _evidence(events)
    with deciding_together():
        if earlier + 1 >= settings.PORTAL_TRAFFIC_BLOCKS_TO_REVOKE:
            rule = _("Burst number %(n)d on port 25 within %(days)d days.") % {
                "n": earlier + 1,
                "days": settings.PORTAL_TRAFFIC_REPEAT_DAYS,
            }
            revoke(account, [], rule, reason=reason)
            return TrafficVerdict(account_id, REVOKE, 0)
        seconds = settings.PORTAL_TRAFFIC_BLOCK_SECONDS * 2**earlier
        until = now + timedelta(seconds=seconds)
        set_desired_state(account, EgressState.BLOCKED, source=EgressSource.TRAFFIC, reason=reason, until=until)
    AbuseEvent.objects.create(account=account, kind=EventKind.TRAFFIC_BLOCKED, message=reason)
    notifications.traffic_blocked(account, reason, until)
    return TrafficVerdict(account_id, BLOCK, seconds)


@transaction.atomic
def tell_blocked_tries() -> list[int]:
    """Tell the accounts whose blocked servers kept trying port 25 in the last hour; their ids."""
    now = timezone.now()
    attempts = blocked_attempts_since(now - timedelta(hours=1))
    many = {a for a, n in attempts.items() if n > settings.PORTAL_TRAFFIC_BLOCKED_TRIES_PER_HOUR}
    many -= allowed_accounts(many)  # counted while still blocked, opened since: nothing to tell
    told = AbuseEvent.objects.filter(
        account_id__in=many, kind=EventKind.TOLD_BLOCKED_TRIES, at__gt=now - timedelta(days=1)
    )
    many -= set(told.values_list("account_id", flat=True))
    accounts = Account.objects.select_for_update().filter(pk__in=sorted(many)).order_by("pk")
    for account in accounts:
        message = _("%(n)d attempts on port 25 in the last hour.") % {"n": attempts[account.pk]}
        AbuseEvent.objects.create(account=account, kind=EventKind.TOLD_BLOCKED_TRIES, message=message)
        notifications.blocked_tries(account, attempts[account.pk])
    return sorted(many)


def _evidence(events: list[TrafficEvent]) -> str:
    """The figures, in words the customer and the abuse desk both read."""
    seen = "; ".join(
        _("%(ip)s opened %(n)d new connections in the minute of %(at)s (seen by %(target)s)")
        % {"ip": e.ip, "n": e.connections, "at": e.observed_at.strftime("%Y-%m-%d %H:%M UTC"), "target": e.target}
        for e in events
    )
    return _("More than %(limit)d new port-25 connections a minute: %(seen)s.") % {
        "limit": settings.PORTAL_TRAFFIC_BURST_PER_MINUTE,
        "seen": seen,
    }


@transaction.atomic
def flag_over_declared() -> list[int]:
    """Warn the accounts that sent far more than declared on the last whole UTC day; their ids.

    Once a day each: the check runs after every collection, the day it looks at changes at midnight.
    """
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = today - timedelta(days=1)
    sent = connections_per_account(day)
    expected = expected_daily_volumes(sent)
    multiple = settings.PORTAL_TRAFFIC_DECLARED_MULTIPLE
    over = {a for a, n in sent.items() if a in expected and n > multiple * expected[a]}
    flagged = AbuseEvent.objects.filter(account_id__in=over, kind=EventKind.OVER_DECLARED, at__gte=today)
    over -= set(flagged.values_list("account_id", flat=True))
    for account in Account.objects.select_for_update().filter(pk__in=sorted(over)).order_by("pk"):
        figures = {"sent": sent[account.pk], "declared": expected[account.pk], "day": day.date().isoformat()}
        message = _("%(sent)d new port-25 connections on %(day)s; the request declared %(declared)d emails a day.")
        AbuseEvent.objects.create(account=account, kind=EventKind.OVER_DECLARED, message=message % figures)
        notifications.over_declared(account, **figures)
    return sorted(over)
