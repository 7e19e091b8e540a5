"""Check runs for reviewers: every result with its evidence, read-only (the pipeline writes them)."""

from django.contrib import admin

from verification.models import CheckResult, CheckRun


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
    list_display = ["subject", "account", "trigger", "created_at", "finished_at", "score", "recommendation"]
    list_filter = ["recommendation", "trigger"]
    list_select_related = ["account"]
    search_fields = ["subject", "account__name"]
    readonly_fields = [f.name for f in CheckRun._meta.fields]
    inlines = [CheckResultInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
