import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import sign_up
from accounts.forms import ApiTokenForm, SignupForm
from accounts.models import CustomerToken
from accounts.services import TokenRefused, issue_customer_token


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """The same answer whether the address has an account or not (accounts.sign_up says why)."""
    if request.user.is_authenticated:
        return redirect("port25")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        allowed, wait = sign_up.allowed(request)
        if not allowed:
            minutes = max(1, math.ceil((wait or 60) / 60))
            return render(request, "accounts/signup_throttled.html", {"minutes": minutes}, status=429)
        if form.is_valid():
            data = form.cleaned_data
            sign_up.sign_up(data["email"], data["password"], data["account_name"])
            return redirect("signup_sent")
    return render(request, "accounts/signup.html", {"form": form})


@require_http_methods(["GET"])
def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_sent.html")


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The customer's REST API tokens; a new token is shown once, right after it is created."""
    form = ApiTokenForm(request.POST or None)
    new_token, status = None, 200
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_token = issue_customer_token(
                request.user, form.cleaned_data["name"], second_factor_verified=request.user.is_verified()
            )
            form = ApiTokenForm()
        except TokenRefused as refused:
            form.add_error(None, str(refused))
            status = 403
    tokens = CustomerToken.objects.filter(user=request.user, revoked_at__isnull=True)
    context = {"form": form, "tokens": tokens, "new_token": new_token}
    return render(request, "accounts/api_tokens.html", context, status=status)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(CustomerToken, pk=pk, user=request.user, revoked_at__isnull=True)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api_tokens")
