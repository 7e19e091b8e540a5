"""Reconciliation: read what a target actually allows, compare with the database, repair both ways.

It runs under the target's lock, so no apply interleaves; the outbox rows it saw before reading
the database are settled by it and marked applied.
"""

import logging
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from egress import outbox
from egress.adapters import Change
from egress.models import ChangeStatus, EgressChange
from egress.selectors import OPEN, allowed_addresses
from egress.targets import adapter_for

logger = logging.getLogger(__name__)

_CHUNK = 5_000


@dataclass
class Drift:
    target: str
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    settled: int = 0  # outbox rows this reconciliation made unnecessary
    error: str = ""

    def as_dict(self) -> dict:
        return {
            "target": self.target,
            "added": sorted(self.added),
            "removed": sorted(self.removed),
            "settled_changes": self.settled,
            "error": self.error,
        }


def reconcile(target: str) -> Drift:
    """Make the target allow exactly the active addresses of allowed accounts. Safe to run any time."""
    adapter = adapter_for(target)
    with transaction.atomic():
        row = outbox.lock_target(target)
        # Rows seen now were committed before the database is read below: the repair covers them.
        owed = list(EgressChange.objects.filter(target=target, status__in=OPEN).values_list("pk", flat=True))
        try:
            reading = adapter.start_reading()
            desired = allowed_addresses()
            actual = reading()
            add, remove = desired - actual, actual - desired
            # Applied even when nothing drifted: the backend re-asserts its own set-up (table, rules).
            with transaction.atomic():
                adapter.apply(Change(key=str(uuid.uuid4()), allow=frozenset(add), deny=frozenset(remove)))
        except Exception as exc:  # whatever the backend raised, the target row shows it
            logger.warning("Egress target %s: reconciliation failed: %s", target, exc)
            row.last_error = str(exc)[:4000] or type(exc).__name__
            row.save(update_fields=["last_error"])
            return Drift(target, error=row.last_error)
        now = timezone.now()
        for start in range(0, len(owed), _CHUNK):
            EgressChange.objects.filter(pk__in=owed[start : start + _CHUNK]).update(
                status=ChangeStatus.APPLIED, applied_at=now
            )
        row.reconciled_at, row.last_added, row.last_removed, row.last_error = now, len(add), len(remove), ""
        row.repaired_total += len(add) + len(remove)
        row.save()
    if add or remove:
        logger.warning("Egress target %s: repaired drift, %d allowed, %d removed.", target, len(add), len(remove))
    return Drift(target, added=add, removed=remove, settled=len(owed))
