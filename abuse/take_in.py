"""The worker's half of the intake: match the reports the API received, then weigh their accounts.

The API stores each report and answers (abuse.intake.receive); the worker takes a burst in
together: one UPDATE matches it to the inventory, its accounts are triaged in a few queries (not
once per report), revocations are decided at once and warnings paced. The stored reports are the
queue, so a lost task loses nothing: the sweep takes them in.
"""

import logging
import math
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from kombu.exceptions import OperationalError

from abuse import policy
from abuse.matching import match
from abuse.models import AbuseReport
from portal.celery import app

logger = logging.getLogger(__name__)

BATCH = 500  # reports matched in one transaction
# Warnings are paced: this many per task, a task every WARNINGS_PAUSE seconds (per burst taken in).
WARNINGS_AT_ONCE = 20
WARNINGS_PAUSE = 0.5
SLOT_KEY = "abuse:take-in:%.3f"  # claimed by the web process that queues the take-in due then
# A task due this close to now may be running already; a report committed now needs a later one.
STARTED_MARGIN = 0.02

_lock = threading.Lock()
_queued_due = 0.0  # the latest due time this process knows a task is queued for: most reports need no cache call


def nudge() -> None:
    """Queue the worker's take-in: one task per PORTAL_ABUSE_TAKE_IN_INTERVAL for all web processes.

    Queuing a task costs a web process more than storing the report. Time is cut in slots of the
    interval; the task due at the end of the current slot takes in every report committed before it
    starts. The first web process to claim the slot in the cache (an atomic add) queues that task;
    the others, and this process's next reports in the slot, leave it at that. With a cache of its
    own (the embedded default) each process claims its own slots: more tasks, as safe.
    """
    global _queued_due
    if app.conf.task_always_eager:  # an eager task runs now: it covers no later report
        _take_in_task().delay()
        return
    interval = settings.PORTAL_ABUSE_TAKE_IN_INTERVAL
    due = (math.floor((time.time() + STARTED_MARGIN) / interval) + 1) * interval
    with _lock:
        if due <= _queued_due:
            return
        _queued_due = due
    if not cache.add(SLOT_KEY % due, True, timeout=60):
        return  # another process queued it (or the cache is away, and then mostly the broker too: the sweep)
    try:
        _take_in_task().apply_async(eta=datetime.fromtimestamp(due, UTC))
    except OperationalError as exc:
        logger.warning("Abuse take-in: broker unavailable (%s); the sweep will take the reports in.", exc)


def _take_in_task():
    from abuse.tasks import take_in_reports  # the tasks module imports this one

    return take_in_reports


def take_in_waiting() -> tuple[int, list[int]]:
    """Match every waiting report and decide the revocations they call for: (how many were
    matched, the accounts that may be due a warning).

    Warnings are left to `warn_some`, in tasks of their own: a storm of complaints then holds up
    neither the revocations nor the firewall's changes. Safe to run twice and side by side:
    waiting rows are locked and skipped by a second worker.
    """
    total, to_warn = 0, {}  # a dict: an ordered set
    while batch := _match_batch():
        total += sum(batch.values())
        revocations, warnings = policy.triage(account for account in batch if account is not None)
        policy.decide_each(revocations)
        to_warn.update(dict.fromkeys(warnings))
    return total, list(to_warn)


def warn_some(account_ids: list[int]) -> list[int]:
    """Decide about the first WARNINGS_AT_ONCE of these accounts; returns the others, for later."""
    policy.decide_each(account_ids[:WARNINGS_AT_ONCE])
    return account_ids[WARNINGS_AT_ONCE:]


def _match_batch() -> dict[int | None, int]:
    """Match up to BATCH waiting reports; returns how many each account got (None: unmatched)."""
    with transaction.atomic():
        waiting = AbuseReport.objects.waiting().select_for_update(skip_locked=True).order_by("pk")
        pks = list(waiting.values_list("pk", flat=True)[:BATCH])
        if not pks:
            return {}
        batch = AbuseReport.objects.filter(pk__in=pks)
        match(batch)
        counts = batch.order_by().values("account_id").annotate(n=Count("pk"))
        return {row["account_id"]: row["n"] for row in counts}
