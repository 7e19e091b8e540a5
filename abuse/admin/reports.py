"""Reporters, their tokens, and the reports: filed by hand, redacted, rejected ones kept for reading."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abuse import confirmation, intake, redaction
from abuse.forms import StaffReportForm
from abuse.models import AbuseReport, Channel, MailboxMessage, RejectedReport, Reporter, ReporterToken, ReportFormat
from abuse.reports import ReportInput, Unreadable
from common import bounded_json
from common.admin_form_page import form_page
from common.read_only_admin import ReadOnlyAdmin
from common.single_line import SingleLineModelForm

RAW_SHOWN = 200_000  # characters of a raw report shown on its page


def _raw_text(raw: bytes | memoryview) -> str:
    text = bytes(raw).decode("utf-8", "replace")
    return text if len(text) <= RAW_SHOWN else text[:RAW_SHOWN] + "\n…"


@admin.register(Reporter)
class ReporterAdmin(admin.ModelAdmin):
    form = SingleLineModelForm
    list_display = ["name", "contact", "active", "signing_domains", "created_at"]
    list_filter = ["active"]
    fields = ["name", "contact", "active", "signing_domains", "receiving_domains", "created_at"]
    search_fields = ["name", "contact"]
    readonly_fields = ["created_at"]  # set when the reporter is added; a split date-time input had no labels


@admin.register(ReporterToken)
class ReporterTokenAdmin(admin.ModelAdmin):
    form = SingleLineModelForm
    """Issue a reporter's token (shown once) and revoke it; only its digest is stored."""

    list_display = ["reporter", "name", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["reporter"]
    readonly_fields = ["created_at", "last_used_at"]
    fields = ["reporter", "name", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ReporterToken, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = ReporterToken.issue(reporter=obj.reporter, name=obj.name)
        obj.pk, obj.digest = token.pk, token.digest
        self.message_user(
            request,
            _("Token for %(name)s: %(raw)s — copy it now, it is not shown again.") % {"name": obj, "raw": raw},
            messages.WARNING,
        )


class MatchedFilter(admin.SimpleListFilter):
    title = gettext_lazy("matched to an account")
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", _("Yes")), ("no", _("No: unmatched")), ("waiting", _("Not yet: waiting for the worker"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AbuseReport]) -> QuerySet[AbuseReport]:
        if self.value() == "yes":
            return queryset.filter(account__isnull=False)
        if self.value() == "no":
            return queryset.unmatched()
        if self.value() == "waiting":
            return queryset.waiting()
        return queryset


class VerifiedFilter(admin.SimpleListFilter):
    title = gettext_lazy("sender verified")
    parameter_name = "verified"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("yes", _("Yes")),
            ("no", _("No: unverified, weighs nothing")),
            ("confirmed", _("Unverified, confirmed by staff")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AbuseReport]) -> QuerySet[AbuseReport]:
        if self.value() == "yes":
            return queryset.filter(unverified=False)
        if self.value() == "no":
            return queryset.filter(unverified=True, confirmed_at__isnull=True)
        if self.value() == "confirmed":
            return queryset.filter(unverified=True, confirmed_at__isnull=False)
        return queryset


class RedactionForm(forms.ModelForm):
    redacted = forms.MultipleChoiceField(
        label=gettext_lazy("Hide from the customer"),
        choices=list(redaction.REDACTABLE.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("The report stays stored as received; only the customer's view changes."),
    )

    class Meta:
        model = AbuseReport
        fields = ["redacted"]


@admin.register(AbuseReport)
class AbuseReportAdmin(admin.ModelAdmin):
    """Reports as received. Staff file new ones by hand and choose what the customer may not see."""

    list_display = ["received_at", "category", "source_ip", "account", "reporter", "channel", "verified", "deliveries"]
    list_filter = [MatchedFilter, VerifiedFilter, "category", "format", "source_rule", "channel", "reporter"]
    list_select_related = ["account", "reporter"]
    search_fields = ["=source_ip", "reference", "account__name", "original_mail_from", "reported_domain"]
    date_hierarchy = "received_at"
    form = RedactionForm
    actions = ["confirm"]
    readonly_fields = [
        "account_link",
        "verified",
        "confirmed_at",
        "confirmed_by",
        "category",
        "format",
        "source_ip",
        "source_rule",
        "source_certainty",
        "occurred_at",
        "received_at",
        "matched_at",
        "reporter",
        "filed_by",
        "channel",
        "reference",
        "deliveries",
        "reported_domain",
        "original_mail_from",
        "original_headers",
        "evidence_text",
        "raw_report",
    ]
    fields = ["redacted", *readonly_fields]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("sender verified"))
    def verified(self, obj: AbuseReport) -> str:
        if not obj.unverified:
            return _("Yes")
        if obj.confirmed_at is None:
            return _("Unverified: weighs nothing until confirmed")
        return _("Confirmed by staff")

    @admin.action(
        description=gettext_lazy("Confirm the selected unverified reports (they count from now on)"),
        permissions=["change"],
    )
    def confirm(self, request: HttpRequest, queryset: QuerySet[AbuseReport]) -> None:
        count = confirmation.confirm(queryset, request.user)
        self.message_user(request, _("%(n)d report(s) confirmed.") % {"n": count}, messages.SUCCESS)

    @admin.display(description=gettext_lazy("account"))
    def account_link(self, obj: AbuseReport) -> str:
        if obj.account is None:
            return _("Unmatched: no account held this address at the time.")
        url = reverse("admin:abuse_abuseevent_changelist") + f"?account__id__exact={obj.account_id}"
        return format_html('{} (<a href="{}">{}</a>)', obj.account, url, _("abuse timeline"))

    @admin.display(description=gettext_lazy("evidence"))
    def evidence_text(self, obj: AbuseReport) -> str:
        return format_html("<pre>{}</pre>", bounded_json.dumps_for_display(obj.evidence))

    @admin.display(description=gettext_lazy("raw report, as received"))
    def raw_report(self, obj: AbuseReport) -> str:
        if obj.raw_kept_by_id:
            kept = _("Kept with report #%(id)d of the same message:") % {"id": obj.raw_kept_by_id}
            return format_html("<p>{}</p><pre>{}</pre>", kept, _raw_text(obj.raw_message()))
        return format_html("<pre>{}</pre>", _raw_text(obj.raw))

    def save_model(self, request: HttpRequest, obj: AbuseReport, form, change: bool) -> None:
        redaction.redact(obj, form.cleaned_data["redacted"], request.user)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """File a report by hand; it goes through the same intake (de-duplication, matching, policy)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StaffReportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                report = ReportInput(**data, format=ReportFormat.STAFF)
            except Unreadable as exc:
                form.add_error("occurred_at", str(exc))
            else:
                raw = json.dumps(data, default=str, ensure_ascii=False).encode()
                result = intake.accept(report, raw=raw, channel=Channel.STAFF, filed_by=request.user)
                self.message_user(request, _filed_message(result), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:abuse_abusereport_change", args=[result.report_id]))
        return form_page(self, request, form, _("File an abuse report"), submit=_("File the report"))


def _filed_message(result: intake.Result) -> str:
    if result.status == intake.DUPLICATE:
        return _("This incident was reported already: report #%(id)d counts it.") % {"id": result.report_id}
    if result.status == intake.UNMATCHED:
        return _("Report filed; no account held %(ip)s at that time.") % {"ip": result.source_ip}
    return _("Report filed and matched; the policy weighs the account now.")


@admin.register(RejectedReport)
class RejectedReportAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "channel", "reporter", "size", "reason"]
    list_filter = ["channel", "reporter"]
    search_fields = ["reason"]
    date_hierarchy = "received_at"
    fields = ["received_at", "channel", "reporter", "size", "reason", "raw_report"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("raw report, as received (up to the size limit)"))
    def raw_report(self, obj: RejectedReport) -> str:
        return format_html("<pre>{}</pre>", _raw_text(obj.raw))


@admin.register(MailboxMessage)
class MailboxMessageAdmin(ReadOnlyAdmin):
    """What the mailbox feed took from which folder, and whether it was moved on the server yet."""

    list_display = ["taken_at", "mailbox", "uidvalidity", "uid", "status", "moved_at"]
    list_filter = ["status", "mailbox"]
    search_fields = ["=digest", "=uid"]
    date_hierarchy = "taken_at"
