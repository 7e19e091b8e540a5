"""A person vouches for unverified mail (abuse.mail_authentication): from then on the policy weighs it."""

from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.utils import timezone

from abuse import policy
from abuse.models import AbuseEvent, AbuseReport, EventKind
from accounts.models import User


@transaction.atomic
def confirm(reports: Iterable[AbuseReport], actor: User) -> int:
    """Confirm these unverified reports, who and when on each and on the account's timeline; the
    policy weighs their accounts after commit. Returns how many were not confirmed before."""
    pending = list(
        AbuseReport.objects.select_for_update()
        .filter(pk__in=[report.pk for report in reports], unverified=True, confirmed_at__isnull=True)
        .only("pk", "account_id")
    )
    now = timezone.now()
    AbuseReport.objects.filter(pk__in=[report.pk for report in pending]).update(confirmed_at=now, confirmed_by=actor)
    AbuseEvent.objects.bulk_create(
        AbuseEvent(account_id=report.account_id, kind=EventKind.CONFIRMED, actor=actor, report=report, at=now)
        for report in pending
        if report.account_id is not None
    )
    for account_id in sorted({report.account_id for report in pending} - {None}):
        transaction.on_commit(partial(policy.evaluate, account_id), robust=True)
    return len(pending)
