"""Source IP to account, as the inventory stood when the abuse happened (addresses move)."""

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from abuse.models import AbuseReport
from accounts.models import ServerAddress


def address_at(ip: str, moment: datetime) -> ServerAddress | None:
    """The address row that held `ip` at `moment` (with its server), or None: the report is unmatched."""
    return ServerAddress.objects.held_at(moment).filter(ip=ip).select_related("server__account").first()


def match(reports: QuerySet[AbuseReport]) -> int:
    """Match these reports to the address (and account) that held their source IP then, in one UPDATE.

    The abuse worker matches a burst at once; a report about an address nobody held is matched to
    none (unmatched). Returns how many reports were matched.
    """
    holder = ServerAddress.objects.held_at(OuterRef("occurred_at")).filter(ip=OuterRef("source_ip"))
    return reports.update(
        address=Subquery(holder.values("pk")[:1]),
        account=Subquery(holder.values("server__account")[:1]),
        matched_at=timezone.now(),
    )
