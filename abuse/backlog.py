"""The backlog: reports the API stored and the worker has yet to match and weigh (abuse.intake
stores them; this is the worker's half).

The API stores each report and answers (abuse.intake.receive); the first report of a burst queues
the take-in (abuse.intake.take_in_soon). The worker takes the burst in together: one UPDATE matches
it to the inventory, its accounts are triaged in a few queries (not once per report), revocations
are decided at once and warnings paced. The stored reports are the queue, so a lost task loses
nothing: the sweep takes them in.
"""

from django.db import transaction
from django.db.models import Count

from abuse import policy
from abuse.matching import match
from abuse.models import AbuseReport

BATCH = 500  # reports matched in one transaction
# Warnings are paced: this many per task, a task every WARNINGS_PAUSE seconds (per burst taken in).
WARNINGS_AT_ONCE = 20
WARNINGS_PAUSE = 0.5


def match_and_weigh() -> tuple[int, list[int]]:
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
