"""The review queue's views and filters in the admin."""

from collections.abc import Iterator
from datetime import timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from requests_app.check_flow import stuck_requests
from requests_app.models import CLOSED_STATUSES, RISK_BANDS, Status


class QueueFilter(admin.SimpleListFilter):
    """Which queue: awaiting review unless the reviewer picks another."""

    title = _("queue")
    parameter_name = "queue"
    default = "awaiting"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("awaiting", _("Awaiting review")),
            ("needs_info", _("Waiting on the customer")),
            ("stuck", _("Stuck in checking")),
            ("decided", _("Decided in the last 7 days")),
            ("all", _("All requests")),
        ]

    def value(self) -> str:
        return super().value() or self.default

    def choices(self, changelist: object) -> Iterator[dict]:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        match self.value():
            case "awaiting":
                return queryset.filter(status=Status.AWAITING_REVIEW)
            case "needs_info":
                return queryset.filter(status=Status.NEEDS_INFO)
            case "stuck":
                return queryset.filter(pk__in=stuck_requests())
            case "decided":
                return queryset.filter(status__in=CLOSED_STATUSES, decided_at__gte=now - timedelta(days=7))
        return queryset


class RiskBandFilter(admin.SimpleListFilter):
    title = _("risk")
    parameter_name = "risk"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("low", _("Low")), ("medium", _("Medium")), ("high", _("High")), ("none", _("Not scored"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "none":
            return queryset.filter(risk_score__isnull=True)
        if self.value() in RISK_BANDS:
            return queryset.filter(risk_score__range=RISK_BANDS[self.value()])
        return queryset


class CheckFailuresFilter(admin.SimpleListFilter):
    title = _("check failures")
    parameter_name = "failures"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", _("With failures")), ("no", _("No failures"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(check_failures__gt=0)
        if self.value() == "no":
            return queryset.filter(check_failures=0)
        return queryset
