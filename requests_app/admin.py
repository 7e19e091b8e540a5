from django.contrib import admin

from requests_app.models import RequestEvent, UnblockRequest
from requests_app.services import ANSWER_FIELDS


class RequestEventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    can_delete = False
    fields = ["at", "actor", "from_status", "to_status", "message"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UnblockRequest)
class UnblockRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "company_name", "use_case", "daily_volume", "status", "created_at"]
    list_filter = ["status", "use_case"]
    list_select_related = ["account"]
    search_fields = [
        "account__name",
        "company_name",
        "sending_domain",
        "mail_server_ip",
        "created_by__email",
    ]
    date_hierarchy = "created_at"
    readonly_fields = ["account", "created_by", "status", "created_at", "updated_at", "aup_accepted_at", *ANSWER_FIELDS]
    inlines = [RequestEventInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
