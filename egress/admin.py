from django.contrib import admin

from egress.models import AccountEgress


@admin.register(AccountEgress)
class AccountEgressAdmin(admin.ModelAdmin):
    """Read-only here: the desired state changes through decisions, never by editing the row."""

    list_display = ["account", "desired", "source", "changed_at"]
    list_filter = ["desired", "source"]
    search_fields = ["account__name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
