"""Figures for the staff dashboard: how big and how old the queue is, how fast it is decided."""

import statistics
from datetime import timedelta

from django.db.models import Count, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from egress.models import EgressDecision, EgressSource, EgressState
from egress.selectors import open_changes
from requests_app.models import DECIDED_STATUSES, Status, UnblockRequest


def review_dashboard(days: int = 14) -> dict:
    now = timezone.now()
    since = now - timedelta(days=days)
    waiting = UnblockRequest.objects.filter(status=Status.AWAITING_REVIEW)
    oldest = waiting.aggregate(oldest=Min("status_changed_at"))["oldest"]
    decided = UnblockRequest.objects.filter(status__in=DECIDED_STATUSES, decided_at__gte=since)
    per_day = (
        decided.annotate(day=TruncDate("decided_at"))
        .values("day")
        .annotate(
            approved=Count("pk", filter=Q(status=Status.APPROVED)),
            rejected=Count("pk", filter=Q(status=Status.REJECTED)),
        )
        .order_by("-day")
    )
    durations = [(d - c).total_seconds() for c, d in decided.values_list("created_at", "decided_at")]
    return {
        "days": days,
        "queue_depth": waiting.count(),
        "needs_info": UnblockRequest.objects.filter(status=Status.NEEDS_INFO).count(),
        "oldest_waiting": now - oldest if oldest else None,
        "decisions_per_day": list(per_day),
        "median_time_to_decision": timedelta(seconds=statistics.median(durations)) if durations else None,
        "auto_decisions": decided.filter(auto_decided=True).count(),
        "revocations": EgressDecision.objects.filter(
            source=EgressSource.ABUSE, to_state=EgressState.BLOCKED, decided_at__gte=since
        ).count(),
        "traffic_blocks": EgressDecision.objects.filter(
            source=EgressSource.TRAFFIC, to_state=EgressState.BLOCKED, decided_at__gte=since
        ).count(),
        "pending_egress_changes": open_changes().count(),
    }
