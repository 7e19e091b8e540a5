"""The worker's half of the intake: match the reports the API received, then weigh their accounts.

The API stores each report and answers (abuse.intake.receive); the worker takes a burst in
together: one query matches it to the inventory, and each account is weighed once, not once per
report. The stored reports are the queue, so a lost task loses nothing: the sweep takes them in.
"""

import threading
import time
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from abuse import policy
from abuse.matching import holders
from abuse.models import AbuseReport
from accounts.models import ServerAddress

BATCH = 500  # reports matched in one transaction
WARNINGS_AT_ONCE = 20  # decided in one task (about a tenth of a second)
WARNINGS_PAUSE = 0.5  # seconds between two tasks of warnings
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
        take_in_reports.apply_async(countdown=due - now)
    with _lock:
        _known_due = max(_known_due, due)


def take_in_waiting(warnings: Iterable[int] = ()) -> tuple[int, list[int]]:
    """Match every waiting report and weigh the accounts they are about: (how many matched, accounts
    still to warn).

    Revocations are decided as soon as their reports are matched. Warnings can wait: a few are
    decided here, the rest (with `warnings`, left over from before) are returned, for a task of
    their own, so that the firewall changes of revocations do not queue behind them. Safe to run
    twice and side by side: waiting rows are locked and skipped by a second worker.
    """
    total, to_warn = 0, dict.fromkeys(warnings)  # a dict: an ordered set
    while batch := _match_batch():
        total += sum(batch.values())
        revocations, more = policy.triage(account for account in batch if account is not None)
        policy.decide_each(revocations)
        to_warn.update(dict.fromkeys(more))
    now, later = list(to_warn)[:WARNINGS_AT_ONCE], list(to_warn)[WARNINGS_AT_ONCE:]
    policy.decide_each(now)
    return total, later


def _match_batch() -> dict[int | None, int]:
    """Match up to BATCH waiting reports; returns how many each account got (None: unmatched)."""
    with transaction.atomic():
        waiting = AbuseReport.objects.waiting().select_for_update(skip_locked=True).order_by("pk")
        reports = list(waiting.values_list("pk", "source_ip", "occurred_at")[:BATCH])
        found = holders((ip, moment) for _pk, ip, moment in reports)
        by_address: dict[ServerAddress | None, list[int]] = defaultdict(list)
        for pk, ip, moment in reports:
            by_address[found[(ip, moment)]].append(pk)
        now = timezone.now()
        accounts: dict[int | None, int] = defaultdict(int)
        # One update per address: a burst is mostly about a few addresses, and a CASE per row costs more.
        for address, pks in by_address.items():
            account_id = address.server.account_id if address else None
            AbuseReport.objects.filter(pk__in=pks).update(address=address, account_id=account_id, matched_at=now)
            accounts[account_id] += len(pks)
    return accounts
