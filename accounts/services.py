"""Writes to the account inventory: sign-up, customers' API tokens and the platform's server events."""

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, CustomerToken, Membership, Server, ServerAddress, User
from accounts.signals import inventory_changed


class ServerOwnedElsewhere(ValueError):
    """The platform ID names a server of another account."""


@transaction.atomic
def register_customer(email: str, password: str, account_name: str) -> User:
    """Create a login and the account it acts for; port 25 starts blocked."""
    user = User.objects.create_user(email=email, password=password)
    account = Account.objects.create(name=account_name)
    Membership.objects.create(account=account, user=user, role=Membership.Role.OWNER)
    return user


class TokenRefused(ValueError):
    """No API token is created; the message tells the person why."""


@transaction.atomic
def issue_customer_token(user: User, name: str, *, second_factor_verified: bool) -> tuple[CustomerToken, str]:
    """A new API token for `user` (the raw value, shown once), within PORTAL_API_TOKENS_PER_USER active ones.

    Staff mint one only in a session their second factor verified: a stolen staff password alone would
    otherwise buy a credential that never asks for the second factor.
    """
    if user.is_staff and not second_factor_verified:
        raise TokenRefused(_("Staff confirm their sign-in with their second factor (on the staff site) first."))
    User.objects.select_for_update().filter(pk=user.pk).first()  # two posts at once count one after the other
    most = settings.PORTAL_API_TOKENS_PER_USER
    if CustomerToken.objects.filter(user=user, revoked_at__isnull=True).count() >= most:
        raise TokenRefused(
            _("You have %(n)d active tokens, the most one person may hold. Revoke one you no longer use first.")
            % {"n": most}
        )
    return CustomerToken.issue(user=user, name=name)


@transaction.atomic
def record_server(account: Account, external_id: str, hostname: str, ips: Iterable[str]) -> Server:
    """Create or update a server and make its active addresses exactly `ips`.

    An address that another server still holds is released from it first: the
    platform is the authority on who holds an IP now. `inventory_changed` is sent inside the
    transaction, so what receivers write (the egress outbox) commits with the change.
    """
    server, created = Server.objects.select_for_update().get_or_create(
        external_id=external_id, defaults={"account": account, "hostname": hostname}
    )
    if not created:
        if server.account_id != account.pk:
            raise ServerOwnedElsewhere(external_id)
        server.hostname = hostname
        server.deleted_at = None
        server.save(update_fields=["hostname", "deleted_at"])

    now = timezone.now()
    wanted = set(ips)
    current = {a.ip: a for a in server.addresses.active()}
    for ip, address in current.items():
        if ip not in wanted:
            address.released_at = now
            address.save(update_fields=["released_at"])
    new_ips = wanted - current.keys()
    taken = ServerAddress.objects.active().filter(ip__in=new_ips)
    previous_holders = set(taken.values_list("server__account_id", flat=True))
    taken.update(released_at=now)
    ServerAddress.objects.bulk_create(ServerAddress(server=server, ip=ip, assigned_at=now) for ip in new_ips)
    changed = new_ips | (current.keys() - wanted)
    if changed:
        inventory_changed.send(
            sender=Server, account_ids=sorted({account.pk, *previous_holders}), addresses=sorted(changed)
        )
    return server


@transaction.atomic
def delete_server(server: Server) -> None:
    """Mark a server deleted and release its addresses; history stays for abuse matching."""
    now = timezone.now()
    released = sorted(server.addresses.active().values_list("ip", flat=True))
    server.addresses.active().update(released_at=now)
    server.deleted_at = now
    server.save(update_fields=["deleted_at"])
    if released:
        inventory_changed.send(sender=Server, account_ids=[server.account_id], addresses=released)
