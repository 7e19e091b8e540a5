"""Source IP to account, as the inventory stood when the abuse happened (addresses move)."""

from datetime import datetime

from accounts.models import ServerAddress


def address_at(ip: str, moment: datetime) -> ServerAddress | None:
    """The address row that held `ip` at `moment` (with its server), or None: the report is unmatched."""
    return (
        ServerAddress.objects.held_at(moment)
        .filter(ip=ip)
        .select_related("server__account")
        .order_by("-assigned_at")
        .first()
    )
