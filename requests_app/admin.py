"""The review queue and the one page a reviewer decides on."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.staff_groups import REVIEW_PERMISSION
from common.display_time import duration
from common.read_only_admin import ReadOnlyAdmin
from egress.traffic_review import traffic_panel
from requests_app import review_pages
from requests_app.models import ANSWER_FIELDS, ReasonTemplate, RequestEvent, UnblockRequest
from requests_app.queue_filters import CheckFailuresFilter, QueueFilter, RiskBandFilter
from requests_app.review_rules import needs_four_eyes
from requests_app.selectors import review_context


@admin.register(RequestEvent)
class RequestEventAdmin(ReadOnlyAdmin):
    """The audit log of requests: every transition and staff action, append-only."""

    list_display = ["at", "request", "actor", "kind", "from_status", "to_status", "message"]
    list_filter = ["kind", "to_status"]
    list_select_related = ["actor", "request"]
    search_fields = ["request__id", "actor__email", "message"]
    date_hierarchy = "at"


@admin.register(ReasonTemplate)
class ReasonTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "active"]
    list_filter = ["active"]


@admin.register(UnblockRequest)
class UnblockRequestAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "company_name",
        "use_case",
        "per_day",
        "risk_badge",
        "checks_at_a_glance",
        "waiting",
        "assignee",
        "status_badge",
    ]
    list_display_links = ["id", "company_name"]
    list_filter = [
        QueueFilter,
        "status",
        "use_case",
        RiskBandFilter,
        CheckFailuresFilter,
        ("assignee", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["account", "assignee"]
    search_fields = [
        "account__name",
        "account__reference",
        "company_name",
        "sending_domain",
        "mail_server_hostname",
        "mail_server_ip",
        "created_by__email",
        "=id",
    ]
    ordering = ["status_changed_at"]
    readonly_fields = [
        "account",
        "created_by",
        "status",
        "created_at",
        "aup_accepted_at",
        "assignee",
        "decided_at",
        "decision_reason",
        "decided_by",
        "risk_score",
        "check_summary",
        *ANSWER_FIELDS,
    ]
    fieldsets = [
        (gettext_lazy("Request"), {"fields": ["account", "created_by", "status", "created_at", "assignee"]}),
        (gettext_lazy("Company"), {"fields": ["company_name", "company_website", "sending_domain"]}),
        (
            gettext_lazy("Sending"),
            {
                "fields": [
                    "use_case",
                    "use_case_description",
                    "daily_volume",
                    "optin_description",
                    "email_template",
                    "unsubscribe_url",
                ]
            },
        ),
        (
            gettext_lazy("Mail server"),
            {
                "fields": [
                    "mail_software",
                    "mail_software_other",
                    "mail_server_hostname",
                    "mail_server_ip",
                    "threat_mitigation",
                    "aup_accepted_at",
                ]
            },
        ),
        (
            gettext_lazy("Decision"),
            {"fields": ["risk_score", "check_summary", "decided_at", "decided_by", "decision_reason"]},
        ),
    ]
    change_form_template = "admin/requests_app/unblockrequest/review.html"

    class Media:
        # The queue's badges and the review page share one stylesheet.
        css = {"all": ["admin_review.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("risk"), ordering="risk_score")
    def risk_badge(self, obj: UnblockRequest) -> str:
        if obj.risk_score is None:
            return "-"
        return format_html('<span class="risk risk-{}">{}</span>', obj.risk_band, obj.risk_score)

    @admin.display(description=gettext_lazy("checks"), ordering="check_failures")
    def checks_at_a_glance(self, obj: UnblockRequest) -> str:
        # Each check's verdict stays on one line; the summary wraps between them.
        parts = obj.check_summary.split(" · ") if obj.check_summary else []
        return format_html_join(" · ", '<span class="nowrap">{}</span>', ((part,) for part in parts)) or "-"

    @admin.display(description=gettext_lazy("decided by"))
    def decided_by(self, obj: UnblockRequest) -> str:
        # Words, not Django's boolean icon: a red ⊗ beside "by policy" read as an error.
        if obj.decided_at is None:
            return _("not decided yet")
        return _("the automatic policy") if obj.auto_decided else _("a reviewer")

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj: UnblockRequest) -> str:
        return format_html('<span class="status status-{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description=gettext_lazy("mails a day"), ordering="daily_volume")
    def per_day(self, obj: UnblockRequest) -> str:
        return f"{obj.daily_volume:,}"

    @admin.display(description=gettext_lazy("waiting"), ordering="status_changed_at")
    def waiting(self, obj: UnblockRequest) -> str:
        return duration(timezone.now() - obj.status_changed_at)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        unblock_request = get_object_or_404(UnblockRequest, pk=object_id)
        context = {
            **review_context(unblock_request),
            "can_review": request.user.has_perm(REVIEW_PERMISSION),
            "actions_open": review_pages.offered_actions(unblock_request, request.user),
            "four_eyes": needs_four_eyes(unblock_request),
            "missing_verifications": unblock_request.account.missing_verifications(),
            "traffic": traffic_panel(unblock_request.account),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/review/<str:action>/",
                self.admin_site.admin_view(self.review_action),
                name="requests_app_unblockrequest_review",
            ),
            *super().get_urls(),
        ]

    def review_action(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if not request.user.has_perm(REVIEW_PERMISSION):
            raise PermissionDenied
        return review_pages.action_page(self, request, pk, action)
