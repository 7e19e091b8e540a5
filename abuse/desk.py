"""Abuse desk bookkeeping: a flagged account (a warning) is marked as seen, on the timeline."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from abuse.models import AbuseEvent, EventKind, PolicyDecision
from accounts.models import User


@transaction.atomic
def acknowledge(decisions: Iterable[PolicyDecision], actor: User) -> int:
    """Mark these decisions seen; returns how many were not seen before."""
    pending = list(
        PolicyDecision.objects.select_for_update().filter(
            pk__in=[d.pk for d in decisions], acknowledged_at__isnull=True
        )
    )
    now = timezone.now()
    for decision in pending:
        decision.acknowledged_at, decision.acknowledged_by = now, actor
        AbuseEvent.objects.create(
            account_id=decision.account_id, kind=EventKind.ACKNOWLEDGED, actor=actor, decision=decision, at=now
        )
    PolicyDecision.objects.bulk_update(pending, ["acknowledged_at", "acknowledged_by"])
    return len(pending)
