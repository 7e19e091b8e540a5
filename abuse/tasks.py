"""Celery tasks of the abuse app: thin wrappers around the policy."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from abuse import policy
from abuse.selectors import recently_reported_accounts


@shared_task
def evaluate_account(account_id: int) -> str | None:
    """Weigh the account's reports (queued after they commit); returns the outcome, if any."""
    decision = policy.evaluate(account_id)
    return decision.outcome if decision else None


@shared_task
def sweep() -> int:
    """Weigh again the accounts reported lately: recovers evaluations whose task was lost (broker down)."""
    since = timezone.now() - timedelta(seconds=5 * settings.PORTAL_ABUSE_SWEEP_SECONDS)
    accounts = recently_reported_accounts(since)
    for account_id in accounts:
        evaluate_account.delay(account_id)
    return len(accounts)
