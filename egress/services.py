"""Writes of the egress state: decisions about an account's port 25, and following the inventory."""

import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, User
from accounts.selectors import active_addresses
from egress import outbox, signals
from egress.models import AccountEgress, EgressDecision, EgressSource, EgressState, EgressTarget, ReopenLevel
from egress.reopening import ReopenRefused, refuse_opening
from egress.targets import target_names

logger = logging.getLogger(__name__)


def _lock_accounts(account_ids: Iterable[int]) -> None:
    """Serialise decisions and inventory changes of the same accounts (in pk order: no deadlock)."""
    list(Account.objects.select_for_update().filter(pk__in=set(account_ids)).order_by("pk").values_list("pk"))


def deciding_together() -> AbstractContextManager[None]:
    """Within a transaction that decides many accounts, each target's apply is queued once, at the end."""
    return outbox.one_apply_per_target()


@transaction.atomic
def set_desired_state(
    account: Account,
    state: str,
    *,
    source: str,
    reason: str,
    actor: User | None = None,
    reopen_by: str = "",
    until: datetime | None = None,
    expected_daily_volume: int | None = None,
    sending_domain: str | None = None,
) -> AccountEgress:
    """Decide the account's port 25: record it, keep the history, and owe every target the change.

    The targets are written after commit (the outbox); deciding the same state again is harmless.
    A block `reopen_by` a level carries a hold: whatever path allows the account again (a request's
    approval, a reinstatement, a staff action, the system), egress.reopening judges whether it may.
    A later block without a hold keeps the earlier one; one with a hold replaces it.
    A decision `until` a moment is temporary: then the account returns by itself to the state it
    had before (`lift_ended`); any later decision that is not temporary replaces it.
    An opening may say how many emails a day it expects (`expected_daily_volume`), for the traffic
    policy to compare with what is counted, and which domain it sends as (`sending_domain`), for the
    re-checks' SPF test; each stays until another opening says otherwise.
    """
    if state not in EgressState.values:
        raise ValueError(f"Unknown egress state {state!r}")
    if source not in EgressSource.values or source == EgressSource.DEFAULT:
        raise ValueError(f"Not a decision source: {source!r}")
    if reopen_by and (reopen_by not in ReopenLevel.values or state == EgressState.ALLOWED):
        raise ValueError(f"Not a hold on a block: {reopen_by!r}")
    _lock_accounts([account.pk])
    egress, _created = AccountEgress.objects.select_for_update().get_or_create(account=account)
    if state == EgressState.ALLOWED:
        refuse_opening(egress, actor, source)
        egress.reopen_by, egress.reopen_by_request = "", False
    elif reopen_by:
        egress.reopen_by, egress.reopen_by_request = reopen_by, False
    previous = egress.desired
    if until is None:
        egress.until, egress.returns_to = None, ""
    else:  # a temporary decision on top of another returns to the state before the first
        egress.returns_to = egress.returns_to if egress.until else previous
        egress.until = until
    if expected_daily_volume is not None:
        egress.expected_daily_volume = expected_daily_volume
    if sending_domain is not None:
        egress.sending_domain = sending_domain
    egress.desired, egress.source, egress.reason, egress.changed_at = state, source, reason, timezone.now()
    egress.save()
    decision = EgressDecision.objects.create(
        account=account,
        from_state=previous,
        to_state=state,
        source=source,
        reason=reason,
        actor=actor,
        decided_at=egress.changed_at,
        until=until,
    )
    signals.decided.send(sender=EgressDecision, decision=decision)
    outbox.record([account.pk], active_addresses(account))
    return egress


@transaction.atomic
def let_a_request_reopen(account: Account) -> None:
    """Someone with the authority of the account's hold asked for a new request: its approval lifts the hold."""
    _lock_accounts([account.pk])
    AccountEgress.objects.filter(account=account).exclude(reopen_by="").update(reopen_by_request=True)


def lift_ended() -> int:
    """Return every account whose temporary decision has ended to its earlier state; how many."""
    lifted = 0
    ended = AccountEgress.objects.filter(until__lte=timezone.now()).values_list("account_id", flat=True)
    for account_id in list(ended):
        with transaction.atomic():
            _lock_accounts([account_id])
            egress = AccountEgress.objects.select_for_update().select_related("account").get(account_id=account_id)
            if egress.until is None or egress.until > timezone.now():
                continue  # decided again meanwhile
            try:
                set_desired_state(
                    egress.account,
                    egress.returns_to,
                    source=egress.source,
                    reason=_("The temporary decision ended: %(reason)s") % {"reason": egress.reason},
                )
            except ReopenRefused:
                logger.warning("Account %s: a temporary block ended on an account closed for good.", account_id)
                AccountEgress.objects.filter(pk=egress.pk).update(until=None, returns_to="")
                continue
            lifted += 1
    return lifted


@transaction.atomic
def follow_inventory(account_ids: Iterable[int], addresses: Iterable[str]) -> None:
    """Addresses of these accounts were added or released: owe the targets a sync if one is allowed.

    Runs inside the inventory's transaction. Blocked accounts cost nothing: an address that was
    never allowed needs no change, and one moving away from an allowed account names it here.
    """
    ids = sorted(set(account_ids))
    _lock_accounts(ids)
    allowed = list(
        AccountEgress.objects.filter(account_id__in=ids, desired=EgressState.ALLOWED).values_list(
            "account_id", flat=True
        )
    )
    if allowed:
        outbox.record(allowed, addresses)


def register_targets() -> None:
    """A row for every target named in settings, so that staff see each gateway of a fleet from the
    moment it is configured (a row is otherwise made by its first apply or reconciliation)."""
    EgressTarget.objects.bulk_create(
        [EgressTarget(name=name) for name in target_names()], ignore_conflicts=True
    )
