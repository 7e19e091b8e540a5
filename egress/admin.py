"""Staff views of the egress state. Nothing here edits a row: decisions go through set_desired_state."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Value
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from common.admin_form_page import form_page
from common.read_only_admin import ReadOnlyAdmin, html_table
from egress import outbox
from egress.forms import DecisionForm
from egress.models import AccountEgress, ChangeStatus, EgressChange, EgressSource, EgressTarget
from egress.reopening import ReopenRefused
from egress.selectors import OPEN, allowed_addresses, decisions, open_changes
from egress.services import register_targets, set_desired_state
from egress.target_status import TargetStatus, target_status
from egress.traffic_review import traffic_panel

DECIDE_PERMISSION = "egress.decide_accountegress"


@admin.register(AccountEgress)
class AccountEgressAdmin(ReadOnlyAdmin):
    list_display = ["account", "desired", "source", "changed_at", "owed", "failed"]
    list_filter = ["desired", "source"]
    list_select_related = ["account"]
    search_fields = ["account__name", "account__reference"]
    fields = [
        "account",
        "desired",
        "source",
        "reason",
        "changed_at",
        "until",
        "returns_to",
        "expected_daily_volume",
        "traffic",
        "history",
        "rechecks",
        "owed_changes",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccountEgress]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_count=Count("account__egress_changes", filter=Q(account__egress_changes__status__in=OPEN)),
                failed_count=Count(
                    "account__egress_changes", filter=Q(account__egress_changes__status=ChangeStatus.FAILED)
                ),
            )
        )

    @admin.display(description=_("changes not applied"), ordering="open_count")
    def owed(self, obj: AccountEgress) -> int:
        return obj.open_count

    @admin.display(description=_("failed changes"), ordering="failed_count")
    def failed(self, obj: AccountEgress) -> int:
        return obj.failed_count

    @admin.display(description=_("history"))
    def history(self, obj: AccountEgress) -> str:
        rows = [
            (
                d.decided_at,
                d.get_from_state_display(),
                d.get_to_state_display(),
                d.get_source_display(),
                d.actor or "—",
                d.reason,
            )
            for d in decisions(obj.account)
        ]
        return html_table([_("when"), _("from"), _("to"), _("source"), _("by"), _("reason")], rows)

    @admin.display(description=_("re-checks"))
    def rechecks(self, obj: AccountEgress) -> str:
        """A link, by the admin's URL name: egress reads nothing of the checks (DESIGN.md)."""
        url = reverse("admin:verification_recheckfinding_changelist") + f"?account__id__exact={obj.account_id}"
        return format_html('<a href="{}">{}</a>', url, _("Re-check history of this account's addresses"))

    @admin.display(description=_("port-25 traffic, 30 days"))
    def traffic(self, obj: AccountEgress) -> str:
        return traffic_panel(obj.account)

    @admin.display(description=_("changes not applied yet"))
    def owed_changes(self, obj: AccountEgress) -> str:
        rows = [
            (c.target, c.get_status_display(), c.attempts, c.next_attempt_at, c.last_error or "—", c.created_at)
            for c in open_changes(obj.account)
        ]
        return html_table(
            [_("target"), _("status"), _("attempts"), _("next attempt"), _("last error"), _("created")], rows
        )

    def get_urls(self) -> list:
        decide = self.admin_site.admin_view(self.decide_view)
        return [path("decide/", decide, name="egress_accountegress_decide"), *super().get_urls()]

    def decide_view(self, request: HttpRequest) -> HttpResponse:
        """Block or unblock by hand, with a reason: the same path as every other decision."""
        if not request.user.has_perm(DECIDE_PERMISSION):
            raise PermissionDenied
        form = DecisionForm(request.POST or None, initial={"account": request.GET.get("account")})
        if request.method == "POST" and form.is_valid():
            account = form.cleaned_data["account"]
            try:
                egress = set_desired_state(
                    account,
                    form.cleaned_data["state"],
                    source=EgressSource.STAFF,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ReopenRefused as exc:
                form.add_error(None, str(exc))
                return self._decide_page(request, form)
            self.message_user(
                request,
                _("Port 25 of %(account)s is now %(state)s.")
                % {"account": account, "state": egress.get_desired_display()},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:egress_accountegress_change", args=[egress.pk]))
        return self._decide_page(request, form)

    def _decide_page(self, request: HttpRequest, form: DecisionForm) -> HttpResponse:
        intro = _(
            "The decision is recorded in the account's history with your name and applied to every "
            "enforcement target; it overrides the state set by a request or an abuse report."
        )
        return form_page(
            self, request, form, _("Block or unblock port 25"), submit=_("Record the decision"), intro=intro
        )


@admin.register(EgressChange)
class EgressChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "target", "account", "status", "attempts", "next_attempt_at", "short_error"]
    list_filter = ["status", "target"]
    list_select_related = ["account"]
    search_fields = ["account__name", "=key"]
    actions = ["retry"]

    @admin.display(description=_("last error"))
    def short_error(self, obj: EgressChange) -> str:
        return obj.last_error[:120]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    @admin.action(description=_("Retry the selected changes now"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[EgressChange]) -> None:
        count = outbox.retry_now(queryset)
        self.message_user(request, _("%(n)d change(s) queued again.") % {"n": count}, messages.SUCCESS)


@admin.register(EgressTarget)
class EgressTargetAdmin(ReadOnlyAdmin):
    """One row per enforcement target (each gateway of a fleet): how it stands, and why."""

    list_display = ["name", "state", "addresses", "oldest_owed", "error", "reconciled_at", "last_added", "last_removed"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        register_targets()
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet[EgressTarget]:
        # The desired count is the same for every target: counted once per page.
        return super().get_queryset(request).annotate(desired=Value(len(allowed_addresses())))

    def _status(self, obj: EgressTarget) -> TargetStatus:
        if not hasattr(obj, "_status"):
            obj._status = target_status(obj.name, getattr(obj, "desired", 0))
        return obj._status

    @admin.display(description=_("state"))
    def state(self, obj: EgressTarget) -> str:
        return self._status(obj).state_label

    @admin.display(description=_("addresses applied / desired"))
    def addresses(self, obj: EgressTarget) -> str:
        status = self._status(obj)
        return f"{status.applied} / {status.desired}"

    @admin.display(description=_("oldest owed change"))
    def oldest_owed(self, obj: EgressTarget) -> str:
        age = self._status(obj).oldest_owed_age
        return timesince(timezone.now() - age) if age is not None else "—"

    @admin.display(description=_("last error"))
    def error(self, obj: EgressTarget) -> str:
        status = self._status(obj)
        if not status.last_error:
            return "—"
        return format_html("<strong>{}</strong><br>{}", status.explanation, status.last_error[:500])
