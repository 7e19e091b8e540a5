"""Celery tasks of the abuse app: thin wrappers around the intake's worker half and the policy."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from kombu.exceptions import OperationalError

from abuse import backlog, policy, recheck_policy, traffic_policy
from abuse.selectors import recently_reported_accounts
from accounts.models import Account

logger = logging.getLogger(__name__)

TAKE_IN_QUEUED = "abuse:take-in-queued"  # in the cache while a take-in is queued and has not started


def take_in_soon() -> None:
    """Queue a take-in of the reports committed so far, unless one is queued and has not started yet.

    Called after each report's commit. The first report of a burst queues the task
    PORTAL_ABUSE_TAKE_IN_INTERVAL seconds ahead and marks it in the cache (an atomic add, shared by
    the web processes); the burst's later reports find the mark and leave it at that. The task
    removes the mark before it reads the reports, so a report committed after that queues the next.
    The mark also expires when the task is due, which clears it where the worker does not share the
    cache (the embedded default). A lost task is covered by the sweep.
    """
    interval = settings.PORTAL_ABUSE_TAKE_IN_INTERVAL
    if cache.add(TAKE_IN_QUEUED, True, timeout=interval) is False:
        return  # queued already (None, not False: the cache is away, and a task too many is harmless)
    try:
        take_in_reports.apply_async(countdown=interval)
    except OperationalError as exc:
        cache.delete(TAKE_IN_QUEUED)
        logger.warning("Abuse take-in: broker unavailable (%s); the sweep will take the reports in.", exc)


@shared_task
def take_in_reports() -> int:
    """Match the reports the API received and revoke where they call for it (queued by `take_in_soon`).

    Warnings follow a moment later, a few at a time: take-ins and firewall changes go first.
    """
    cache.delete(TAKE_IN_QUEUED)  # before reading: a report committed from now on queues the next take-in
    matched, to_warn = backlog.match_and_weigh()
    if to_warn:
        warn_accounts.apply_async((to_warn,), countdown=backlog.WARNINGS_PAUSE)
    return matched


@shared_task
def warn_accounts(account_ids: list[int]) -> int:
    """Warn (or flag) a few of these accounts if the policy says so; the others a moment later."""
    later = backlog.warn_some(account_ids)
    if later:
        warn_accounts.apply_async((later,), countdown=backlog.WARNINGS_PAUSE)
    return len(account_ids) - len(later)


@shared_task
def sweep() -> int:
    """Take in reports whose task was lost (broker down) and weigh again the accounts reported lately."""
    backlog.match_and_weigh()  # the accounts it leaves to warn were reported lately: weighed below
    since = timezone.now() - timedelta(seconds=5 * settings.PORTAL_ABUSE_SWEEP_SECONDS)
    accounts = recently_reported_accounts(since)
    policy.evaluate_many(accounts)
    return len(accounts)


@shared_task
def weigh_traffic(event_ids: list[int]) -> int:
    """After each traffic collection (egress.signals.traffic_observed): block or revoke for bursts,
    tell the accounts whose blocked servers kept trying port 25, warn those far above their declaration."""
    traffic_policy.tell_blocked_tries()
    traffic_policy.flag_over_declared()
    return len(traffic_policy.weigh_bursts(event_ids))


@shared_task
def recheck_open_addresses() -> int:
    """Beat's turn of the re-check cycle (on the checks queue): the due addresses, then the policy."""
    return len(recheck_policy.run_cycle())


@shared_task
def recheck_account(account_id: int) -> int:
    """A re-check the customer asked for (abuse.views.recheck_now)."""
    return len(recheck_policy.recheck_account(Account.objects.get(pk=account_id)))
