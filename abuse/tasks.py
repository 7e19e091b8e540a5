"""Celery tasks of the abuse app: thin wrappers around the intake's worker half and the policy."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from abuse import policy, take_in
from abuse.selectors import recently_reported_accounts


@shared_task
def take_in_reports(warnings: list[int] | None = None) -> int:
    """Match the reports the API received and weigh their accounts (queued by `take_in.nudge`).

    Warnings beyond a few go to a task of their own, a moment later: the take-ins and firewall
    changes queued meanwhile go first, so a storm of complaints does not hold up revocations.
    """
    matched, later = take_in.take_in_waiting(warnings or [])
    if later:
        take_in_reports.apply_async((later,), countdown=take_in.WARNINGS_PAUSE)
    return matched


@shared_task
def sweep() -> int:
    """Take in reports whose task was lost (broker down) and weigh again the accounts reported lately."""
    take_in.take_in_waiting()  # the accounts it leaves to warn were reported lately: weighed below
    since = timezone.now() - timedelta(seconds=5 * settings.PORTAL_ABUSE_SWEEP_SECONDS)
    accounts = recently_reported_accounts(since)
    policy.evaluate_many(accounts)
    return len(accounts)
