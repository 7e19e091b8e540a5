"""Writes to the account inventory: sign-up and the platform's server events."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Membership, Server, ServerAddress, User


class ServerOwnedElsewhere(ValueError):
    """The platform ID names a server of another account."""


@transaction.atomic
def register_customer(email: str, password: str, account_name: str) -> User:
    """Create a login and the account it acts for; port 25 starts blocked."""
    user = User.objects.create_user(email=email, password=password)
    account = Account.objects.create(name=account_name)
    Membership.objects.create(account=account, user=user, role=Membership.Role.OWNER)
    return user


@transaction.atomic
def record_server(account: Account, external_id: str, hostname: str, ips: Iterable[str]) -> Server:
    """Create or update a server and make its active addresses exactly `ips`.

    An address that another server still holds is released from it first: the
    platform is the authority on who holds an IP now.
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
    ServerAddress.objects.active().filter(ip__in=new_ips).update(released_at=now)
    ServerAddress.objects.bulk_create(ServerAddress(server=server, ip=ip, assigned_at=now) for ip in new_ips)
    return server


@transaction.atomic
def delete_server(server: Server) -> None:
    """Mark a server deleted and release its addresses; history stays for abuse matching."""
    now = timezone.now()
    server.addresses.active().update(released_at=now)
    server.deleted_at = now
    server.save(update_fields=["deleted_at"])
