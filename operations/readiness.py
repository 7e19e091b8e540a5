"""GET /readyz: may this deployment take traffic? The database and the broker answer, and every
enforcement target was reconciled recently. /healthz stays the liveness probe (the process answers).
What is wrong is spelt out to the clients that may read /metrics; others get the status alone."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from egress.models import EgressTarget
from egress.targets import target_names
from operations.broker import read_broker
from operations.metrics_endpoint import may_scrape


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # whatever the driver raised, the database did not answer
        return _("the database does not answer: %(error)s") % {"error": exc}
    return None


def broker_problem() -> str | None:
    reading = read_broker(lengths=False)
    return None if reading.up else _("the broker does not answer: %(error)s") % {"error": reading.error}


def target_problems() -> list[str]:
    """A target never reconciled, or not within PORTAL_READY_RECONCILE_AGE seconds, is a problem."""
    limit = timezone.now() - timedelta(seconds=settings.PORTAL_READY_RECONCILE_AGE)
    reconciled = dict(EgressTarget.objects.values_list("name", "reconciled_at"))
    problems = []
    for name in target_names():
        at = reconciled.get(name)
        if at is None:
            problems.append(_("enforcement target %(name)s was never reconciled") % {"name": name})
        elif at < limit:
            problems.append(
                _("enforcement target %(name)s was last reconciled at %(at)s, over %(age)d s ago")
                % {"name": name, "at": at.isoformat(), "age": settings.PORTAL_READY_RECONCILE_AGE}
            )
    return problems


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    database = database_problem()
    problems = [p for p in (database, broker_problem()) if p]
    if database is None:  # the targets' times are in the database
        problems += target_problems()
    answer = {"ready": not problems}
    if may_scrape(request):  # what is wrong names internal hosts: for the operator's networks only
        answer["problems"] = problems
    return JsonResponse(answer, status=503 if problems else 200)
