"""The revocation policy: weigh an account's recent reports and decide to warn or revoke.

Runs in the request right after the reports commit (abuse.intake), and from the periodic sweep.
Evaluations of one account are serialised by its row lock: a burst of reports yields one decision.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from abuse import notifications
from abuse.models import OPEN_STATES, AbuseEvent, AbuseReport, EventKind, Outcome, PolicyDecision, Revocation
from abuse.revocations import revoke
from accounts.models import Account
from egress.models import EgressState
from egress.selectors import desired_egress


@dataclass(frozen=True)
class Policy:
    instant: frozenset[str]
    revoke_after: int
    warn_after: int
    window: timedelta

    @classmethod
    def from_settings(cls) -> "Policy":
        return cls(
            instant=frozenset(settings.PORTAL_ABUSE_INSTANT_CATEGORIES),
            revoke_after=settings.PORTAL_ABUSE_REVOKE_AFTER,
            warn_after=settings.PORTAL_ABUSE_WARN_AFTER,
            window=timedelta(hours=settings.PORTAL_ABUSE_WINDOW_HOURS),
        )

    @property
    def hours(self) -> str:
        return f"{self.window.total_seconds() / 3600:g}"


def evaluate(account_id: int) -> PolicyDecision | None:
    """Decide about the account now; None when nothing new is to be decided. Safe to run twice.

    Most reports change nothing (the account was warned already, or is revoked): a few reads
    without a lock say so; only a possible decision takes the account's lock and looks again.
    """
    policy = Policy.from_settings()
    if not _may_decide(account_id, policy):
        return None
    with transaction.atomic():
        # FOR NO KEY UPDATE: serialises evaluations, yet lets new reports (foreign keys) in.
        account = Account.objects.select_for_update(no_key=True).get(pk=account_id)
        egress = desired_egress(account)
        if egress.desired != EgressState.ALLOWED and Revocation.objects.filter(account=account).open().exists():
            return None  # revoked already; new reports wait for the abuse desk
        since = _counting_since(account_id, policy)
        reports = list(AbuseReport.objects.filter(account=account, occurred_at__gt=since).order_by("occurred_at", "pk"))
        instant = [r for r in reports if r.category in policy.instant]
        complaints = [r for r in reports if r.category not in policy.instant]
        if instant:
            rule = ngettext(
                "%(n)d %(categories)s report within %(hours)s h: revokes at once.",
                "%(n)d %(categories)s reports within %(hours)s h: revoke at once.",
                len(instant),
            ) % {
                "n": len(instant),
                "categories": "/".join(sorted({r.category for r in instant})),
                "hours": policy.hours,
            }
            return _revoke_or_flag(account, egress.desired, instant, rule, since)
        if complaints and len(complaints) >= policy.revoke_after:
            rule = _("%(n)d complaints within %(hours)s h (revocation at %(limit)d).") % {
                "n": len(complaints),
                "hours": policy.hours,
                "limit": policy.revoke_after,
            }
            return _revoke_or_flag(account, egress.desired, complaints, rule, since)
        if policy.warn_after and len(complaints) >= policy.warn_after:
            rule = _("%(n)d complaint(s) within %(hours)s h (warning from %(warn)d, revocation at %(limit)d).") % {
                "n": len(complaints),
                "hours": policy.hours,
                "warn": policy.warn_after,
                "limit": policy.revoke_after,
            }
            return _warn_once(account, complaints, rule, since)
    return None


def _counting_since(account_id: int, policy: Policy) -> datetime:
    """Reports count within the window, and only about what happened after the last way back."""
    window_start = timezone.now() - policy.window
    last_closed = Revocation.objects.filter(account_id=account_id).aggregate(at=Max("closed_at"))["at"]
    return max(window_start, last_closed) if last_closed else window_start


def _may_decide(account_id: int, policy: Policy) -> bool:
    """Whether the reports could lead to a decision now (read without a lock: `evaluate` checks again)."""
    revocations = list(Revocation.objects.filter(account_id=account_id).values_list("state", "closed_at"))
    if any(state in OPEN_STATES for state, _closed in revocations):
        return desired_egress(Account.objects.get(pk=account_id)).desired == EgressState.ALLOWED
    window_start = timezone.now() - policy.window
    since = max([window_start, *(closed for _state, closed in revocations if closed)])
    counts = AbuseReport.objects.filter(account_id=account_id, occurred_at__gt=since).aggregate(
        instant=Count("pk", filter=Q(category__in=policy.instant)),
        complaints=Count("pk", filter=~Q(category__in=policy.instant)),
    )
    if counts["instant"] or (counts["complaints"] and counts["complaints"] >= policy.revoke_after):
        return True
    if not policy.warn_after or counts["complaints"] < policy.warn_after:
        return False
    return not PolicyDecision.objects.filter(account_id=account_id, outcome=Outcome.WARN, decided_at__gt=since).exists()


def _revoke_or_flag(
    account: Account, state: str, reports: list[AbuseReport], rule: str, since: datetime
) -> PolicyDecision | None:
    """Revoke an open port; a closed one cannot be revoked, so the desk is warned instead."""
    if state == EgressState.ALLOWED:
        return revoke(account, reports, rule)
    return _warn_once(account, reports, rule + " " + _("Port 25 is not open: flagged for the abuse desk."), since)


def _warn_once(account: Account, reports: list[AbuseReport], rule: str, since: datetime) -> PolicyDecision | None:
    """One warning per window: the customer is told once, the desk sees the account flagged."""
    if PolicyDecision.objects.filter(account=account, outcome=Outcome.WARN, decided_at__gt=since).exists():
        return None
    decision = PolicyDecision.objects.record(account, Outcome.WARN, rule, reports)
    AbuseEvent.objects.create(account=account, kind=EventKind.WARNED, decision=decision, message=rule)
    notifications.warned(decision)
    return decision
