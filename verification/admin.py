"""Check runs for reviewers, re-check findings and blocklist zones for the abuse desk: read-only
(the pipeline and the re-check cycle write them)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from common.read_only_admin import ReadOnlyAdmin
from verification.models import CheckResult, CheckRun, RecheckFinding, ZoneStatus


class CheckResultInline(admin.TabularInline):
    model = CheckResult
    extra = 0
    can_delete = False
    fields = ["check_name", "status", "summary", "evidence", "duration_ms", "finished_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CheckRun)
class CheckRunAdmin(admin.ModelAdmin):
    list_display = ["subject", "account", "trigger", "created_at", "finished_at", "risk", "recommendation"]
    list_filter = ["recommendation", "trigger"]
    list_select_related = ["account"]
    search_fields = ["subject", "account__name"]
    readonly_fields = [f.name for f in CheckRun._meta.fields]
    inlines = [CheckResultInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CurrentFilter(admin.SimpleListFilter):
    title = _("present now")
    parameter_name = "current"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [("yes", _("Yes")), ("no", _("No: gone"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(ended_at__isnull=self.value() == "yes")
        return queryset


@admin.register(RecheckFinding)
class RecheckFindingAdmin(ReadOnlyAdmin):
    """Each account's re-check history: what was found on which address, from when until when."""

    list_display = ["ip", "account", "kind", "source", "first_seen", "last_seen", "ended_at"]
    list_filter = [CurrentFilter, "kind", "source"]
    list_select_related = ["account"]
    search_fields = ["ip", "account__name", "account__reference"]
    readonly_fields = [f.name for f in RecheckFinding._meta.fields]


@admin.register(ZoneStatus)
class ZoneStatusAdmin(ReadOnlyAdmin):
    """Whether each blocklist zone's answers are trusted (RFC 5782 test points), and its budget's toll."""

    list_display = ["zone", "usable", "reason", "set_aside_at", "checked_at", "queries", "deferred"]
    list_filter = ["usable"]
    readonly_fields = [f.name for f in ZoneStatus._meta.fields]
