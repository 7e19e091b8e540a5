"""The policy's decisions, the revocations and their way back, and the append-only abuse timeline."""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abuse import desk, revocations
from abuse.forms import NoteForm
from abuse.models import AbuseEvent, PolicyDecision, Revocation
from abuse.selectors import flagged_accounts, timeline
from common.admin_form_page import form_page
from common.read_only_admin import ReadOnlyAdmin, html_table


def _reports_table(decision: PolicyDecision) -> str:
    rows = [
        (
            format_html('<a href="{}">#{}</a>', reverse("admin:abuse_abusereport_change", args=[r.pk]), r.pk),
            r.occurred_at,
            r.get_category_display(),
            r.source_ip,
            r.reporter or "—",
        )
        for r in decision.reports.select_related("reporter").order_by("occurred_at")
    ]
    return html_table([_("report"), _("time"), _("category"), _("source IP"), _("reporter")], rows)


class FlaggedFilter(admin.SimpleListFilter):
    title = gettext_lazy("seen by the abuse desk")
    parameter_name = "seen"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", _("No: flagged")), ("yes", _("Yes"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(acknowledged_at__isnull=self.value() == "no")
        return queryset


@admin.register(PolicyDecision)
class PolicyDecisionAdmin(ReadOnlyAdmin):
    list_display = ["decided_at", "account", "outcome", "rule", "acknowledged_at"]
    list_filter = ["outcome", FlaggedFilter]
    change_list_template = "abuse/admin/change_list_with_flagged.html"
    list_select_related = ["account"]
    search_fields = ["account__name", "rule"]
    fields = ["account", "outcome", "rule", "decided_at", "acknowledged_at", "acknowledged_by", "report_list"]
    readonly_fields = fields
    actions = ["acknowledge"]

    @admin.display(description=gettext_lazy("reports that triggered it"))
    def report_list(self, obj: PolicyDecision) -> str:
        return _reports_table(obj)

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("abuse.acknowledge_policydecision")

    @admin.action(description=gettext_lazy("Mark the selected flags as seen"), permissions=["acknowledge"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[PolicyDecision]) -> None:
        count = desk.acknowledge(queryset, request.user)
        self.message_user(request, _("%(n)d flag(s) marked as seen.") % {"n": count}, messages.SUCCESS)


class WaitingFilter(admin.SimpleListFilter):
    title = gettext_lazy("waiting for the abuse desk")
    parameter_name = "waiting"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", _("Yes: the customer answered"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Revocation]) -> QuerySet[Revocation]:
        if self.value() == "yes":
            return queryset.open().exclude(customer_note="")
        return queryset


@admin.register(Revocation)
class RevocationAdmin(ReadOnlyAdmin):
    """Open revocations first; reinstating or requiring a new request checks who may (the Nth revocation)."""

    list_display = ["revoked_at", "account", "ordinal", "state", "who_decides", "customer_note_at"]
    list_filter = ["state", WaitingFilter]
    list_select_related = ["account"]
    search_fields = ["account__name", "reason"]
    fields = [
        "account",
        "ordinal",
        "who_decides",
        "state",
        "revoked_at",
        "reason",
        "rule",
        "customer_note",
        "customer_note_at",
        "decided_by",
        "staff_note",
        "closed_at",
        "report_list",
        "account_timeline",
    ]
    readonly_fields = fields
    change_form_template = "abuse/admin/revocation_change_form.html"

    @admin.display(description=gettext_lazy("who may decide the way back"))
    def who_decides(self, obj: Revocation) -> str:
        return revocations.who_may_reopen(obj)

    @admin.display(description=gettext_lazy("rule that applied"))
    def rule(self, obj: Revocation) -> str:
        return obj.decision.rule

    @admin.display(description=gettext_lazy("reports that triggered it"))
    def report_list(self, obj: Revocation) -> str:
        return _reports_table(obj.decision)

    @admin.display(description=gettext_lazy("abuse timeline of the account"))
    def account_timeline(self, obj: Revocation) -> str:
        rows = [(e.at, e.get_kind_display(), e.actor or "—", e.message) for e in timeline(obj.account)[:50]]
        return html_table([_("when"), _("what"), _("by"), _("details")], rows)

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/reinstate/", wrap(self.reinstate_view), name="abuse_revocation_reinstate"),
            path("<int:pk>/new-request/", wrap(self.new_request_view), name="abuse_revocation_new_request"),
            *super().get_urls(),
        ]

    def reinstate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._way_back(request, pk, revocations.reinstate, _("Open port 25 again"), _("Reinstate"))

    def new_request_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._way_back(
            request, pk, revocations.require_new_request, _("Require a new request"), _("Require a new request")
        )

    def _way_back(self, request: HttpRequest, pk: int, step, title: str, submit: str) -> HttpResponse:
        revocation = get_object_or_404(Revocation, pk=pk)
        if not revocations.may_reopen(request.user, revocation):
            raise PermissionDenied  # the page too, not only its submit
        form = NoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                step(revocation, request.user, form.cleaned_data["note"])
            except revocations.NotAllowed as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, _("Done: %(account)s.") % {"account": revocation.account}, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:abuse_revocation_change", args=[pk]))
        intro = _("Revocation number %(n)d of %(account)s; %(who)s may decide this.") % {
            "n": revocation.ordinal,
            "account": revocation.account,
            "who": revocations.who_may_reopen(revocation),
        }
        return form_page(self, request, form, title, submit=submit, intro=intro)


@admin.register(AbuseEvent)
class AbuseEventAdmin(ReadOnlyAdmin):
    """The abuse timeline of every account, append-only."""

    list_display = ["at", "account", "kind", "actor", "message"]
    list_filter = ["kind"]
    list_select_related = ["account", "actor"]
    search_fields = ["account__name", "message", "actor__email"]
    date_hierarchy = "at"
    change_list_template = "abuse/admin/change_list_with_flagged.html"

    def get_urls(self) -> list:
        flagged = self.admin_site.admin_view(self.flagged_view)
        return [path("flagged/", flagged, name="abuse_flagged_accounts"), *super().get_urls()]

    def flagged_view(self, request: HttpRequest) -> HttpResponse:
        """The abuse desk's list of flagged accounts: unseen warnings, and traffic flags of the last days."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        days = settings.PORTAL_TRAFFIC_REPEAT_DAYS
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Flagged accounts"),
            "days": days,
            "flagged": flagged_accounts(traffic_since=timezone.now() - timedelta(days=days)),
        }
        return TemplateResponse(request, "abuse/admin/flagged_accounts.html", context)
