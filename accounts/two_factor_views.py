"""The staff sign-in's second step: enrol an authenticator app, or give a code; new recovery codes."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from common.client_address import client_address


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("admin:index")


def _page(site: admin.AdminSite, request: HttpRequest, template: str, **context: object) -> TemplateResponse:
    context = {**site.each_context(request), "next": _next_url(request), **context}
    return TemplateResponse(request, template, context)


@sensitive_post_parameters("code")
@never_cache
def second_step(request: HttpRequest, site: admin.AdminSite) -> HttpResponse:
    """After the password: verify a code, or enrol the app through an issued link (QR code, then recovery codes)."""
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        # An enrolment link opened before signing in comes back here after the password.
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if user.is_verified():
        return HttpResponseRedirect(_next_url(request))
    if two_factor.is_enrolled(user):
        return _verify(request, site)
    token = request.POST.get(two_factor.ENROLMENT_PARAMETER) or request.GET.get(two_factor.ENROLMENT_PARAMETER, "")
    device = two_factor.issued_device(user, token)
    if device is None:
        hours = settings.PORTAL_TWO_FACTOR_ENROLMENT_HOURS
        return _page(site, request, "admin/two_factor/not_issued.html", title=_("Two-factor sign-in"), hours=hours)
    return _enrol(request, site, device, token)


def _verify(request: HttpRequest, site: admin.AdminSite) -> HttpResponse:
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.verify(request.user, form.cleaned_data["code"], client_address(request) or "")
        except two_factor.CodeRefused as exc:
            form.add_error("code", str(exc))
        else:
            request.session.cycle_key()
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
    return _page(site, request, "admin/two_factor/verify.html", title=_("Two-factor sign-in"), form=form)


def _enrol(request: HttpRequest, site: admin.AdminSite, device: TOTPDevice, token: str) -> HttpResponse:
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.confirm_enrolment(
                request.user, token, form.cleaned_data["code"], client_address(request) or ""
            )
        except two_factor.CodeRefused as exc:
            form.add_error("code", str(exc))
        else:
            request.session.cycle_key()
            otp_login(request, two_factor.app_device(request.user))
            return _page(
                site, request, "admin/two_factor/recovery_codes.html", title=_("Your recovery codes"), codes=codes
            )
    return _page(
        site,
        request,
        "admin/two_factor/enrol.html",
        title=_("Set up two-factor sign-in"),
        form=form,
        enrolment=two_factor.start_enrolment(device),
        enrolment_token=token,
    )


@never_cache
def recovery_codes(request: HttpRequest, site: admin.AdminSite) -> HttpResponse:
    """A signed-in, verified member of staff replaces their recovery codes (the old ones stop working)."""
    if request.method == "POST":
        codes = two_factor.new_recovery_codes(request.user)
        return _page(site, request, "admin/two_factor/recovery_codes.html", title=_("Your recovery codes"), codes=codes)
    return _page(site, request, "admin/two_factor/new_codes.html", title=_("New recovery codes"))
