"""The worker's half of the intake: match the reports the API received, then weigh their accounts.

The API stores each report and answers (abuse.intake.receive); the worker takes a burst in
together: one UPDATE matches it to the inventory, its accounts are triaged in a few queries (not
once per report), revocations are decided at once and warnings paced. The stored reports are the
queue, so a lost task loses nothing: the sweep takes them in.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from kombu.exceptions import OperationalError

from abuse import policy
from abuse.matching import match
from abuse.models import AbuseReport

logger = logging.getLogger(__name__)

BATCH = 500  # reports matched in one transaction
# Warnings are paced: this many per task, a task every WARNINGS_PAUSE seconds (per burst taken in).
WARNINGS_AT_ONCE = 20
WARNINGS_PAUSE = 0.5
DUE_KEY = "abuse:take-in-due"  # when the latest take-in task, queued by any web process, is due to start
# A task due this close to now may be running already; a later report then needs a task of its own.
STARTED_MARGIN = 0.02

_lock = threading.Lock()
_known_due = 0.0  # this process's last sight of DUE_KEY, to spare most reports the cache read


def nudge() -> None:
    """Queue the worker's take-in, about one task per PORTAL_ABUSE_TAKE_IN_INTERVAL for all web processes.

    Queuing a task costs a web process more than storing the report. In a burst, one task queued
    a moment ahead covers every report committed before it starts; its due time is shared through
    the cache (with a cache of its own, each process queues its own tasks: more of them, as safe).
    """
    from abuse.tasks import take_in_reports  # the tasks module imports this one

    global _known_due
    if take_in_reports.app.conf.task_always_eager:  # an eager task runs now: it covers no later report
        take_in_reports.delay()
        return
    now = time.time()
    with _lock:
        if _known_due > now + STARTED_MARGIN:
            return
    due = cache.get(DUE_KEY) or 0.0
    if due <= now + STARTED_MARGIN:
        due = max(now, due + settings.PORTAL_ABUSE_TAKE_IN_INTERVAL)
        cache.set(DUE_KEY, due, timeout=60)
        try:
            take_in_reports.apply_async(countdown=due - now)
        except OperationalError as exc:
            logger.warning("Abuse take-in: broker unavailable (%s); the sweep will take the reports in.", exc)
            # Each try costs a report's request the broker's timeouts: not again before the interval.
            due = now + settings.PORTAL_ABUSE_TAKE_IN_INTERVAL
    with _lock:
        _known_due = max(_known_due, due)


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
