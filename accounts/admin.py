from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import two_factor
from accounts.models import Account, CustomerToken, Membership, PlatformToken, Server, ServerAddress, User
from accounts.staff_groups import RECORD_VERIFICATION_PERMISSION
from common.single_line import SingleLineFormMixin, SingleLineModelForm


class StaffUserChangeForm(SingleLineFormMixin, UserChangeForm):
    """The user's page in the admin: names and e-mail on one line, like every other single-line field."""


@admin.register(User)
class EmailUserAdmin(UserAdmin):
    form = StaffUserChangeForm
    ordering = ["email"]
    list_display = ["email", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["issue_two_factor_enrolment"]

    def has_issue_enrolment_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.action(description=_("Issue a two-factor enrolment link"), permissions=["issue_enrolment"])
    def issue_two_factor_enrolment(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """A superuser hands the link to the person by another channel; a password alone enrols no app."""
        hours = settings.PORTAL_TWO_FACTOR_ENROLMENT_HOURS
        for user in queryset.order_by("email"):
            if not user.is_staff or two_factor.is_enrolled(user):
                reason = _("not staff") if not user.is_staff else _("set up already (reset it first)")
                message = _("No enrolment for %(email)s: %(reason)s.") % {"email": user.email, "reason": reason}
                self.message_user(request, message, messages.WARNING)
                continue
            url = two_factor.enrolment_url(two_factor.issue_enrolment(user))
            message = _("Enrolment link for %(email)s (valid for %(hours)d h, for one app): %(url)s")
            self.message_user(request, message % {"email": user.email, "hours": hours, "url": url}, messages.SUCCESS)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ServerInline(admin.TabularInline):
    model = Server
    form = SingleLineModelForm
    extra = 0
    fields = ["hostname", "external_id", "created_at", "deleted_at"]
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = SingleLineModelForm
    list_display = ["name", "reference", "created_at", "identity_verified_at", "payment_verified_at"]
    search_fields = ["name", "reference", "memberships__user__email", "servers__addresses__ip"]
    readonly_fields = [
        "reference",
        "identity_verified_at",
        "identity_verified_by",
        "payment_verified_at",
        "payment_verified_by",
    ]
    inlines = [MembershipInline, ServerInline]
    actions = ["mark_identity_verified", "mark_payment_verified"]

    def has_record_verification_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RECORD_VERIFICATION_PERMISSION)

    def _record(self, request: HttpRequest, queryset: QuerySet[Account], kind: str) -> None:
        for account in queryset:
            account.record_verification(kind, request.user)
        self.message_user(request, _("Recorded for %(n)d account(s).") % {"n": len(queryset)}, messages.SUCCESS)

    @admin.action(description=_("Mark identity as verified"), permissions=["record_verification"])
    def mark_identity_verified(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        self._record(request, queryset, "identity")

    @admin.action(description=_("Mark payment method as verified"), permissions=["record_verification"])
    def mark_payment_verified(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        self._record(request, queryset, "payment")


class ServerAddressInline(admin.TabularInline):
    model = ServerAddress
    extra = 1
    fields = ["ip", "assigned_at", "released_at"]


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    form = SingleLineModelForm
    list_display = ["hostname", "account", "external_id", "created_at", "deleted_at"]
    list_select_related = ["account"]
    search_fields = ["hostname", "external_id", "addresses__ip", "account__name"]
    autocomplete_fields = ["account"]
    inlines = [ServerAddressInline]


@admin.register(PlatformToken)
class PlatformTokenAdmin(admin.ModelAdmin):
    form = SingleLineModelForm
    list_display = ["name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["created_at", "last_used_at"]
    fields = ["name", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: PlatformToken, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = PlatformToken.issue(name=obj.name)
        obj.pk, obj.digest = token.pk, token.digest
        self.message_user(
            request,
            _("Token for %(name)s: %(raw)s — copy it now, it is not shown again.") % {"name": obj.name, "raw": raw},
            messages.WARNING,
        )


@admin.register(CustomerToken)
class CustomerTokenAdmin(admin.ModelAdmin):
    """Staff can see and revoke customers' tokens, never read them (only digests are stored)."""

    list_display = ["user", "name", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["user__email", "name"]
    fields = ["user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
