"""The staff site: the Django admin behind a password and a second factor (accounts.two_factor).

Every admin page goes through has_permission, so a session without a verified device reaches none:
the log-in page sends such staff to the second step instead.
"""

from functools import partial

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from accounts import two_factor_views


class PortalAdminSite(admin.AdminSite):
    site_header = _("Port-25 portal · staff")
    site_title = _("Port-25 portal staff")
    index_title = _("Reviewer's desk")
    # The queue needs the width at 1280 px; the index and the breadcrumbs lead everywhere.
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not user.is_verified():
            next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect_to_login(next_url, reverse("admin:two_factor", current_app=self.name))
        return super().login(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("two-factor/", partial(two_factor_views.second_step, site=self), name="two_factor"),
            path(
                "two-factor/recovery-codes/",
                self.admin_view(partial(two_factor_views.recovery_codes, site=self)),
                name="two_factor_recovery_codes",
            ),
            *super().get_urls(),
        ]
