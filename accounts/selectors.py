"""Reads of the account inventory."""

from accounts.models import Account, ServerAddress, User


def account_of(user: User) -> Account | None:
    """The account a signed-in person acts for, or None for staff without one."""
    membership = getattr(user, "membership", None)
    return membership.account if membership else None


def active_addresses(account: Account) -> list[str]:
    return list(
        ServerAddress.objects.active()
        .filter(server__account=account, server__deleted_at__isnull=True)
        .values_list("ip", flat=True)
    )
