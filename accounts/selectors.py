"""Reads of the account inventory."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Account, Server, ServerAddress, User


def account_of(user: User) -> Account | None:
    """The account a signed-in person acts for, or None for staff without one."""
    membership = getattr(user, "membership", None)
    return membership.account if membership else None


def acting_account(user: User) -> Account:
    """The account this login acts for, for a customer's page or API call; 404 for a login without one."""
    account = account_of(user)
    if account is None:
        raise Http404(_("This login does not act for a customer account."))
    return account


def active_addresses(account: Account) -> list[str]:
    return list(ServerAddress.objects.in_use().filter(server__account=account).values_list("ip", flat=True))


def servers_of(account: Account) -> QuerySet[Server]:
    """The account's servers with their current addresses, as the platform reported them."""
    current = Prefetch("addresses", queryset=ServerAddress.objects.active().order_by("ip"), to_attr="current")
    return Server.objects.active().filter(account=account).prefetch_related(current)
