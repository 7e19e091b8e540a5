"""Revocation and the way back: the revocation's record, its steps, and the level it needs for the way back.

Who has that level is one rule, egress.reopening, which every path that opens port 25 meets in
egress.services.set_desired_state; a revocation closes port 25 with a hold of its level
(PORTAL_ABUSE_REINSTATEMENT, by the revocation's number). Every step here is on the account's abuse
timeline (AbuseEvent) and in the egress history.
"""

from collections import Counter

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from abuse import notifications
from abuse.models import AbuseEvent, AbuseReport, EventKind, PolicyDecision, PolicyOutcome, Revocation, RevocationState
from accounts.models import Account, User
from egress.models import EgressDecision, EgressSource, EgressState, ReopenLevel
from egress.reopening import may_lift
from egress.services import let_a_request_reopen, set_desired_state


class NotAllowed(Exception):
    """This person may not take this step on this revocation; the message says who may."""


def revoke(account: Account, reports: list[AbuseReport], rule: str, *, reason: str = "") -> PolicyDecision:
    """Close port 25 because of these reports (or of `reason`: traffic seen, no reports).
    Runs in the policy's transaction, account locked."""
    decision = PolicyDecision.objects.record(account, PolicyOutcome.REVOKE, rule, reports)
    reason = reason or _reason(reports)
    revocation = Revocation.objects.create(
        account=account,
        decision=decision,
        ordinal=Revocation.objects.filter(account=account).count() + 1,
        reason=reason,
    )
    set_desired_state(
        account,
        EgressState.BLOCKED,
        source=EgressSource.ABUSE,
        reason=reason,
        reopen_by=required_level(revocation),
    )
    AbuseEvent.objects.create(
        account=account, kind=EventKind.REVOKED, decision=decision, revocation=revocation, message=rule
    )
    notifications.revoked(revocation)
    return decision


def _reason(reports: list[AbuseReport]) -> str:
    counts = Counter(report.get_category_display() for report in reports)
    what = ", ".join(f"{category} ({n})" for category, n in sorted(counts.items()))
    addresses = ", ".join(sorted({report.source_ip for report in reports}))
    return _("Abuse reports about %(addresses)s: %(what)s.") % {"addresses": addresses, "what": what}


def required_level(revocation: Revocation) -> str:
    """The level of the way back after this revocation (PORTAL_ABUSE_REINSTATEMENT, by its number)."""
    levels = settings.PORTAL_ABUSE_REINSTATEMENT
    level = levels[min(revocation.ordinal, len(levels)) - 1]
    if level not in ReopenLevel.values:
        raise ImproperlyConfigured(f"PORTAL_ABUSE_REINSTATEMENT: unknown level {level!r} (one of {ReopenLevel.values})")
    return level


def who_may_reopen(revocation: Revocation) -> str:
    """Who has this revocation's level, as the pages name them ("a support reviewer")."""
    return ReopenLevel(required_level(revocation)).label


def may_reopen(user: User | None, revocation: Revocation) -> bool:
    return may_lift(user, required_level(revocation))


def _locked_open(revocation: Revocation, actor: User) -> Revocation:
    locked = Revocation.objects.select_for_update().select_related("account").get(pk=revocation.pk)
    if not locked.is_open:
        raise NotAllowed(_("This revocation is closed already."))
    if not may_reopen(actor, locked):
        raise NotAllowed(
            _("Revocation number %(n)d of this account: only %(who)s may decide the way back.")
            % {"n": locked.ordinal, "who": who_may_reopen(locked)}
        )
    return locked


def _close(revocation: Revocation, state: str, actor: User | None, note: str) -> None:
    revocation.state, revocation.decided_by, revocation.staff_note = state, actor, note
    if state not in (RevocationState.ACTIVE, RevocationState.NEW_REQUEST):
        revocation.closed_at = timezone.now()
    revocation.save(update_fields=["state", "decided_by", "staff_note", "closed_at"])


@transaction.atomic
def reinstate(revocation: Revocation, actor: User, note: str) -> Revocation:
    """Reopen port 25 after the customer fixed the cause; the note is the customer-visible reason."""
    if not note.strip():
        raise NotAllowed(_("Say why port 25 may be opened again."))
    revocation = _locked_open(revocation, actor)
    _close(revocation, RevocationState.REINSTATED, actor, note)
    AbuseEvent.objects.create(
        account=revocation.account, kind=EventKind.REINSTATED, actor=actor, revocation=revocation, message=note
    )
    set_desired_state(revocation.account, EgressState.ALLOWED, source=EgressSource.STAFF, reason=note, actor=actor)
    notifications.reinstated(revocation)
    return revocation


@transaction.atomic
def require_new_request(revocation: Revocation, actor: User, note: str) -> Revocation:
    """Port 25 stays closed until a new unblock request is approved; the customer is told what to explain."""
    if not note.strip():
        raise NotAllowed(_("Tell the customer what the new request must explain."))
    revocation = _locked_open(revocation, actor)
    if revocation.state == RevocationState.NEW_REQUEST:
        raise NotAllowed(_("A new request is required already."))
    _close(revocation, RevocationState.NEW_REQUEST, actor, note)
    let_a_request_reopen(revocation.account)
    AbuseEvent.objects.create(
        account=revocation.account, kind=EventKind.NEW_REQUEST, actor=actor, revocation=revocation, message=note
    )
    notifications.new_request_required(revocation)
    return revocation


@transaction.atomic
def report_fix(revocation: Revocation, user: User, note: str) -> Revocation:
    """The customer says what they fixed; the revocation shows up for the abuse desk to decide."""
    revocation = Revocation.objects.select_for_update().get(pk=revocation.pk)
    if not revocation.is_open:
        raise NotAllowed(_("This revocation is closed already."))
    revocation.customer_note, revocation.customer_note_at = note, timezone.now()
    revocation.save(update_fields=["customer_note", "customer_note_at"])
    AbuseEvent.objects.create(
        account_id=revocation.account_id, kind=EventKind.FIX_REPORTED, actor=user, revocation=revocation, message=note
    )
    return revocation


def close_on_reopen(decision: EgressDecision) -> None:
    """Port 25 was opened some other way (a new request approved, staff in the egress admin): the revocation
    ends, and the timeline says who did it and whether they had the authority this revocation needed."""
    if decision.to_state != EgressState.ALLOWED:
        return
    revocation = Revocation.objects.open().filter(account_id=decision.account_id).first()
    if revocation is None:
        return
    _close(revocation, RevocationState.REOPENED, decision.actor, decision.reason)
    message = f"{decision.get_source_display()}: {decision.reason}"
    if not may_reopen(decision.actor, revocation):
        message += " " + _("(reopening this revocation needed %(who)s)") % {"who": who_may_reopen(revocation)}
    AbuseEvent.objects.create(
        account_id=decision.account_id,
        kind=EventKind.REOPENED,
        actor=decision.actor,
        revocation=revocation,
        message=message,
    )
