"""The outbox: what each target owes the database, written with the decision, applied after commit.

A row is applied by reading the state of its addresses at that moment, under the target's lock;
so rows can be retried, applied twice or late, and the firewall still ends as the database says.
"""

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from celery import signature
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from egress.adapters import Change, EgressError
from egress.models import ChangeStatus, EgressChange, EgressTarget
from egress.selectors import addresses_of, allowed_among
from egress.targets import adapter_for, target_names

logger = logging.getLogger(__name__)

# egress.tasks imports this module, so it queues its apply task by name.
APPLY_CHANGES = "egress.tasks.apply_changes"
BATCH = 500  # rows coalesced into one change
BACKOFF_CAP = 3600.0


@dataclass(frozen=True)
class ApplyResult:
    applied: int
    retry_in: float | None  # seconds until the earliest failed row is due again


def record(account_ids: Iterable[int], addresses: Iterable[str]) -> None:
    """Owe every target a sync of these accounts' addresses (plus `addresses`); apply after commit.

    Call inside the transaction that changes the truth, so the row exists exactly when the change does.
    """
    ips, ids, names = sorted(set(addresses)), list(account_ids), target_names()
    EgressChange.objects.bulk_create(
        EgressChange(target=name, account_id=account_id, addresses=ips) for name in names for account_id in ids
    )
    held = _owed_applies.targets
    for name in names:
        if held is None:
            _dispatch_on_commit(name)
        else:
            held.add(name)


class _OwedApplies(threading.local):
    """The targets an open `one_apply_per_target` block owes an apply; None in every thread outside one."""

    targets: set[str] | None = None


_owed_applies = _OwedApplies()


@contextmanager
def one_apply_per_target() -> Iterator[None]:
    """Changes recorded inside the block queue each target's apply once, when it ends, not once each.

    An apply takes every due row of its target: twenty revocations decided in one transaction need
    one task per target, not twenty. Use it inside the transaction; a block that raises queues
    nothing (its transaction is rolled back). Nested blocks leave it to the outermost.
    """
    if _owed_applies.targets is not None:
        yield
        return
    _owed_applies.targets = set()
    try:
        yield
        targets = _owed_applies.targets
    finally:
        _owed_applies.targets = None
    for name in sorted(targets):
        _dispatch_on_commit(name)


def _dispatch_on_commit(target: str) -> None:
    def dispatch_after_commit() -> None:
        dispatch(target)

    transaction.on_commit(dispatch_after_commit, robust=True)


def dispatch(target: str) -> None:
    """Queue the apply task; without a broker, the periodic sweep finds the row instead."""
    try:
        signature(APPLY_CHANGES).delay(target)
    except OperationalError as exc:
        logger.warning("Egress target %s: broker unavailable (%s); the sweep will apply the change.", target, exc)


def lock_target(name: str) -> EgressTarget:
    """Take the target's lock for the current transaction: its applies and reconciliations run one at a time."""
    EgressTarget.objects.get_or_create(name=name)
    return EgressTarget.objects.select_for_update().get(name=name)


def apply_due(target: str) -> ApplyResult:
    """Apply the target's due rows, a batch per transaction, until none is due or the target fails."""
    adapter = adapter_for(target)
    applied = 0
    while True:
        with transaction.atomic():
            lock_target(target)
            due = EgressChange.objects.filter(
                target=target, status=ChangeStatus.PENDING, next_attempt_at__lte=timezone.now()
            ).order_by("id")
            first = due.first()
            if first is None:
                return ApplyResult(applied, None)
            # A batch that failed goes again exactly as it was (its rows share attempts and due time),
            # so it keeps its key: had the target taken it before its answer was lost, the retry is
            # recognised, not applied a second time under a new key. Fresh rows batch among themselves.
            batch = {"next_attempt_at": first.next_attempt_at} if first.attempts else {}
            rows = list(due.filter(attempts=first.attempts, **batch)[:BATCH])
            touched = {ip for row in rows for ip in row.addresses} | addresses_of({row.account_id for row in rows})
            allowed = allowed_among(touched)
            change = Change(key=_key(rows), allow=frozenset(allowed), deny=frozenset(touched - allowed))
            try:
                with transaction.atomic():  # a savepoint: a backend's database error leaves this transaction usable
                    if touched:
                        adapter.apply(change)
            except Exception as exc:  # whatever the backend raised, the row shows it and is retried
                logger.warning("Egress target %s: change %s failed: %s", target, change.key, exc)
                return ApplyResult(applied, _record_failure(rows, exc))
            EgressChange.objects.filter(pk__in=[row.pk for row in rows]).update(
                status=ChangeStatus.APPLIED, applied_at=timezone.now()
            )
            applied += len(rows)


def _key(rows: list[EgressChange]) -> str:
    """One row's own key; for a batch, a key derived from its rows, so a retried batch keeps its key."""
    if len(rows) == 1:
        return str(rows[0].key)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "egress:" + ",".join(str(row.key) for row in rows)))


def _record_failure(rows: list[EgressChange], exc: Exception) -> float | None:
    now = timezone.now()
    permanent = isinstance(exc, EgressError) and exc.permanent
    retry_in = None
    for row in rows:
        row.attempts += 1
        row.last_error = str(exc)[:4000] or type(exc).__name__
        if permanent or row.attempts >= settings.PORTAL_EGRESS_MAX_ATTEMPTS:
            row.status = ChangeStatus.FAILED
            continue
        delay = backoff(row.attempts)
        row.next_attempt_at = now + timedelta(seconds=delay)
        retry_in = delay if retry_in is None else min(retry_in, delay)
    EgressChange.objects.bulk_update(rows, ["attempts", "last_error", "status", "next_attempt_at"])
    return retry_in


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: doubling from PORTAL_EGRESS_RETRY_DELAY, at most an hour."""
    return min(settings.PORTAL_EGRESS_RETRY_DELAY * 2 ** (attempts - 1), BACKOFF_CAP)


def retry_now(changes: Iterable[EgressChange]) -> int:
    """Make open rows due again (staff, after fixing a target), and queue their targets."""
    keys = [change.pk for change in changes if change.status != ChangeStatus.APPLIED]
    count = EgressChange.objects.filter(pk__in=keys).update(status=ChangeStatus.PENDING, next_attempt_at=timezone.now())
    for name in set(EgressChange.objects.filter(pk__in=keys).values_list("target", flat=True)):
        _dispatch_on_commit(name)
    return count
