"""Reads for the customer page, the admin and the periodic sweep."""

from datetime import datetime

from django.db.models import QuerySet

from abuse.models import AbuseEvent, AbuseReport, PolicyDecision, PolicyOutcome, Revocation
from abuse.redaction import customer_view
from accounts.models import Account


def recently_reported_accounts(since: datetime) -> list[int]:
    return list(
        AbuseReport.objects.filter(received_at__gte=since, account__isnull=False)
        .order_by()
        .values_list("account_id", flat=True)
        .distinct()
    )


def latest_revocation(account: Account) -> Revocation | None:
    """The latest revocation: the open one if any (it is always the latest), else the last one closed."""
    return Revocation.objects.filter(account=account).order_by("-revoked_at", "-pk").first()


def latest_warning(account: Account) -> PolicyDecision | None:
    return PolicyDecision.objects.filter(account=account, outcome=PolicyOutcome.WARN).order_by("-decided_at").first()


def evidence_for_customer(decision: PolicyDecision) -> list[dict]:
    """The reports behind a decision, as the customer may read them."""
    return [customer_view(report) for report in decision.reports.select_related("reporter").order_by("occurred_at")]


def timeline(account: Account) -> QuerySet[AbuseEvent]:
    return AbuseEvent.objects.filter(account=account).select_related("actor")
