"""Reads of the desired egress state; an account without a row is blocked."""

from accounts.models import Account
from egress.models import AccountEgress, EgressSource, EgressState


def desired_egress(account: Account) -> AccountEgress:
    """The account's desired state, unsaved default (blocked) when none was ever set."""
    try:
        return account.egress
    except AccountEgress.DoesNotExist:
        return AccountEgress(account=account, desired=EgressState.BLOCKED, source=EgressSource.DEFAULT)
