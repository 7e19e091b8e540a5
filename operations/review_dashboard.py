"""The review dashboard: the queue, its decisions, revocations and temporary blocks, owed firewall changes.

Here, not in requests_app: a revocation is abuse's record, and neither app may import the other.
Each figure comes from its app's selector, the one /metrics reads too (operations.metrics).
"""

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from abuse.selectors import revocations_by_cause
from accounts.staff_groups import REVIEW_PERMISSION
from egress.models import EgressDecision, EgressSource, EgressState
from egress.selectors import open_changes
from requests_app.dashboard import request_figures


def review_dashboard(days: int = 14) -> dict:
    now = timezone.now()
    since = now - timedelta(days=days)
    return {
        "days": days,
        **request_figures(now, since),
        "revocations": sum(revocations_by_cause(since).values()),
        "traffic_blocks": EgressDecision.objects.filter(
            source=EgressSource.TRAFFIC, to_state=EgressState.BLOCKED, decided_at__gte=since
        ).count(),
        "pending_egress_changes": open_changes().count(),
    }


def review_dashboard_view(request: HttpRequest) -> HttpResponse:
    """The page (portal.urls wraps it in the admin site's log-in and second factor)."""
    if not (request.user.has_perm(REVIEW_PERMISSION) or request.user.has_perm("requests_app.view_unblockrequest")):
        raise PermissionDenied
    context = {**admin.site.each_context(request), "title": _("Review dashboard"), **review_dashboard()}
    return TemplateResponse(request, "admin/requests_app/dashboard.html", context)
