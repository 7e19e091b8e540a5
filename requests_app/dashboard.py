"""The requests' figures of the review dashboard (operations.review_dashboard): how big and how old the
queue is, how fast it is decided."""

import statistics
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from requests_app.models import DECIDED_STATUSES, Status, UnblockRequest
from requests_app.selectors import oldest_awaiting_review


def request_figures(now: datetime, since: datetime) -> dict:
    oldest = oldest_awaiting_review()
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
        "queue_depth": UnblockRequest.objects.filter(status=Status.AWAITING_REVIEW).count(),
        "needs_info": UnblockRequest.objects.filter(status=Status.NEEDS_INFO).count(),
        "oldest_waiting": now - oldest if oldest else None,
        "decisions_per_day": list(per_day),
        "median_time_to_decision": timedelta(seconds=statistics.median(durations)) if durations else None,
        "auto_decisions": decided.filter(auto_decided=True).count(),
    }
