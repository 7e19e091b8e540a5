"""Celery tasks of the abuse app: thin wrappers around the intake's worker half and the policy."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from abuse import policy, take_in
from abuse.selectors import recently_reported_accounts


@shared_task
def take_in_reports() -> int:
    """Match the reports the API received and revoke where they call for it (queued by `take_in.nudge`).

    Warnings follow a moment later, a few at a time: take-ins and firewall changes go first.
    """
    matched, to_warn = take_in.take_in_waiting()
    if to_warn:
        warn_accounts.apply_async((to_warn,), countdown=take_in.WARNINGS_PAUSE)
    return matched


@shared_task
def warn_accounts(account_ids: list[int]) -> int:
    """Warn (or flag) a few of these accounts if the policy says so; the others a moment later."""
    later = take_in.warn_some(account_ids)
    if later:
        warn_accounts.apply_async((later,), countdown=take_in.WARNINGS_PAUSE)
    return len(account_ids) - len(later)


@shared_task
def sweep() -> int:
    """Take in reports whose task was lost (broker down) and weigh again the accounts reported lately."""
    take_in.take_in_waiting()  # the accounts it leaves to warn were reported lately: weighed below
    since = timezone.now() - timedelta(seconds=5 * settings.PORTAL_ABUSE_SWEEP_SECONDS)
    accounts = recently_reported_accounts(since)
    policy.evaluate_many(accounts)
    return len(accounts)
