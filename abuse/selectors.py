"""Reads for the customer page, the admin and the periodic sweep."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, Max, OuterRef, QuerySet

from abuse.models import AbuseEvent, AbuseReport, EventKind, PolicyDecision, PolicyOutcome, Revocation
from abuse.redaction import customer_view
from accounts.models import Account


def recently_reported_accounts(since: datetime) -> list[int]:
    return list(
        AbuseReport.objects.filter(received_at__gte=since, account__isnull=False)
        .order_by()
        .values_list("account_id", flat=True)
        .distinct()
    )


REVOKED_FOR = ("abuse", "traffic")  # what a revocation was for: abuse reports, or traffic seen on port 25


def revocations_by_cause(since: datetime | None = None) -> dict[str, int]:
    """How many revocations (the Revocation rows: the business record) there were, since `since` or ever,
    by cause: `abuse` when reports tipped the policy, `traffic` when the traffic policy revoked.

    The one count of revocations: the review dashboard and /metrics both read it. A staff block, a
    temporary block or blocking an account closed already is no revocation.
    """
    rows = Revocation.objects.all() if since is None else Revocation.objects.filter(revoked_at__gte=since)
    reported = PolicyDecision.reports.through.objects.filter(policydecision_id=OuterRef("decision_id"))
    counted = dict(rows.annotate(reported=Exists(reported)).values_list("reported").annotate(n=Count("pk")).order_by())
    return {"abuse": counted.get(True, 0), "traffic": counted.get(False, 0)}


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


# What the traffic and re-check policies flag an account with, beside the report policy's warnings.
TRAFFIC_FLAGS = (
    EventKind.OVER_DECLARED,
    EventKind.TRAFFIC_BLOCKED,
    EventKind.TOLD_BLOCKED_TRIES,
    EventKind.RECHECK_BLOCKED,
    EventKind.RECHECK_WARNED,
)


@dataclass
class FlaggedAccount:
    account: Account
    last_flagged: datetime
    unseen_warnings: int = 0
    traffic: dict[str, int] = field(default_factory=dict)  # event kind's label -> how many


def flagged_accounts(*, traffic_since: datetime) -> list[FlaggedAccount]:
    """The accounts with something for the abuse desk: a warning it has not marked as seen (of any
    age), or a traffic flag from `traffic_since`; most recently flagged first."""
    found: dict[int, FlaggedAccount] = {}
    accounts: dict[int, Account] = {}

    def entry(account_id: int, at: datetime) -> FlaggedAccount:
        if account_id not in found:
            found[account_id] = FlaggedAccount(accounts[account_id], at)
        found[account_id].last_flagged = max(found[account_id].last_flagged, at)
        return found[account_id]

    warnings = (
        PolicyDecision.objects.filter(outcome=PolicyOutcome.WARN, acknowledged_at__isnull=True)
        .order_by()
        .values("account")
        .annotate(n=Count("id"), last=Max("decided_at"))
    )
    traffic = (
        AbuseEvent.objects.filter(kind__in=TRAFFIC_FLAGS, at__gte=traffic_since)
        .order_by()
        .values("account", "kind")
        .annotate(n=Count("id"), last=Max("at"))
    )
    warnings, traffic = list(warnings), list(traffic)
    accounts.update(Account.objects.in_bulk({row["account"] for row in warnings + traffic}))
    for row in warnings:
        entry(row["account"], row["last"]).unseen_warnings = row["n"]
    for row in traffic:
        entry(row["account"], row["last"]).traffic[EventKind(row["kind"]).label] = row["n"]
    return sorted(found.values(), key=lambda flagged: flagged.last_flagged, reverse=True)
