"""The re-check policy: what the re-check cycle's findings do to an open account's port 25.

verification re-checks the addresses (verification/recheck.py) and says what changed; the weights
are here, beside the report policy (abuse/policy.py) and the traffic policy: a finding is evidence
against the account like a complaint. Per kind and zone (settings PORTAL_RECHECK_*_ACTION(S)):

- "block": port 25 closes (source "recheck") and the customer is told what was found and how to
  be delisted. A listing's block lifts by itself after PORTAL_RECHECK_BLOCK_HOURS; any block lifts as
  soon as a re-check (the cycle's, or one the customer asks for) finds no blocking finding left;
- "warn": the customer is told, nothing closes;
- "ignore": kept for staff only.

A block never reopens what it did not close: port 25 closed by a report, traffic or staff stays
closed whatever the re-checks find.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from abuse import notifications
from abuse.models import AbuseEvent, EventKind
from accounts.models import Account
from egress.models import EgressSource, EgressState
from egress.reopening import ReopenRefused
from egress.selectors import desired_egress, open_or_rechecked_addresses
from egress.services import set_desired_state
from verification import recheck
from verification.models import FindingKind, RecheckFinding
from verification.recheck import Change

logger = logging.getLogger(__name__)

BLOCK, WARN, IGNORE = "block", "warn", "ignore"


def action_for(kind: str, source: str) -> str:
    """What a finding of this kind (and zone, for a listing) calls for."""
    if kind == FindingKind.LISTED:
        actions = settings.PORTAL_RECHECK_ZONE_ACTIONS
        return actions.get(source, actions.get("*", WARN))
    if kind == FindingKind.OPEN_RELAY:
        return settings.PORTAL_RECHECK_RELAY_ACTION
    if kind == FindingKind.SPF:
        return settings.PORTAL_RECHECK_SPF_ACTION
    return settings.PORTAL_RECHECK_REVERSE_DNS_ACTION


def run_cycle(limit: int | None = None) -> list[Change]:
    """One turn of the cycle: watch the open addresses, re-check those due, weigh what changed."""
    recheck.watch(open_or_rechecked_addresses())
    changes = recheck.recheck(recheck.due(limit=limit or settings.PORTAL_RECHECK_BATCH))
    weigh(changes)
    return changes


def recheck_account(account: Account) -> list[Change]:
    """Re-check every watched address of the account now (the customer asked), and weigh the result.

    The beat's turns keep the watched addresses in step with egress; the page offers this only to an
    account that has some, so one customer's click reads no other account's addresses.
    """
    changes = recheck.recheck(recheck.watched_of(account.pk))
    weigh(changes, also=[account.pk])
    return changes


def weigh(changes: list[Change], also: list[int] | None = None) -> None:
    """Decide about each account with a change (and those in `also`), one transaction each."""
    by_account: dict[int, list[Change]] = defaultdict(list)
    for change in changes:
        by_account[change.account_id].append(change)
    for account_id in sorted(set(by_account) | set(also or [])):
        try:
            _decide(account_id, by_account[account_id])
        except Exception:  # one account's failure must not cost the others; the next cycle weighs it again
            logger.exception("Could not weigh the re-check of account %s", account_id)


@transaction.atomic
def _decide(account_id: int, changes: list[Change]) -> None:
    account = Account.objects.select_for_update().get(pk=account_id)
    egress = desired_egress(account)
    current = list(RecheckFinding.objects.current().filter(account_id=account_id))
    blocking = [f for f in current if action_for(f.kind, f.source) == BLOCK]
    new_ids = {change.finding_id for change in changes if change.new}
    new = [f for f in current if f.pk in new_ids and action_for(f.kind, f.source) != IGNORE]
    if egress.desired == EgressState.ALLOWED and any(f in blocking for f in new):
        _block(account, blocking)
    elif new:
        _warn(account, new)
    closed_by_recheck = egress.desired == EgressState.BLOCKED and egress.source == EgressSource.RECHECK
    if closed_by_recheck and not blocking:
        _lift(account)


def _words(findings: list[RecheckFinding]) -> str:
    return "; ".join(f"{f.ip}: {f.summary}" for f in findings)


def _block(account: Account, blocking: list[RecheckFinding]) -> None:
    reason = _("A re-check of your servers found: %(found)s.") % {"found": _words(blocking)}
    listings_only = all(f.kind == FindingKind.LISTED for f in blocking)
    until = timezone.now() + timedelta(hours=settings.PORTAL_RECHECK_BLOCK_HOURS) if listings_only else None
    set_desired_state(account, EgressState.BLOCKED, source=EgressSource.RECHECK, reason=reason, until=until)
    AbuseEvent.objects.create(account=account, kind=EventKind.RECHECK_BLOCKED, message=reason)
    notifications.recheck_blocked(account, blocking, until)


def _warn(account: Account, found: list[RecheckFinding]) -> None:
    message = _("A re-check of your servers found: %(found)s.") % {"found": _words(found)}
    AbuseEvent.objects.create(account=account, kind=EventKind.RECHECK_WARNED, message=message)
    notifications.recheck_warned(account, found)


def _lift(account: Account) -> None:
    reason = _("A re-check found no problem left on the account's servers.")
    try:
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.RECHECK, reason=reason)
    except ReopenRefused:  # closed for good meanwhile, by someone with the authority to: not ours to open
        logger.info("Account %s: clean after a re-check, but its reopening is refused.", account.pk)
        return
    AbuseEvent.objects.create(account=account, kind=EventKind.RECHECK_LIFTED, message=reason)
    notifications.recheck_lifted(account)
