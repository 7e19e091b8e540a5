"""Celery tasks of the abuse app: thin wrappers around the intake's worker half, the policy and the mailbox feed.

The intake queues `take_in_reports` by its name (intake.TAKE_IN_REPORTS): this module imports the intake.
"""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from abuse import backlog, intake, mailbox_feed, policy, recheck_policy, traffic_policy
from abuse.selectors import recently_reported_accounts
from accounts.models import Account


@shared_task
def take_in_reports() -> int:
    """Match the reports the API received and revoke where they call for it (queued by `intake.take_in_soon`).

    Warnings follow a moment later, a few at a time: take-ins and firewall changes go first.
    """
    cache.delete(intake.TAKE_IN_QUEUED)  # before reading: a report committed from now on queues the next take-in
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


@shared_task
def poll_mailbox() -> dict[str, int] | None:
    """Celery beat's poll of the abuse mailbox (PORTAL_ABUSE_IMAP_POLL_SECONDS); None while one runs."""
    return mailbox_feed.poll_unless_running()
