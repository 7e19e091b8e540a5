from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ApiTokenForm, SignupForm
from accounts.models import CustomerToken
from accounts.services import register_customer


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("port25")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = register_customer(
            form.cleaned_data["email"], form.cleaned_data["password"], form.cleaned_data["account_name"]
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("port25")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The customer's REST API tokens; a new token is shown once, right after it is created."""
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _token, new_token = CustomerToken.issue(user=request.user, name=form.cleaned_data["name"])
        form = ApiTokenForm()
    tokens = CustomerToken.objects.filter(user=request.user, revoked_at__isnull=True)
    return render(request, "accounts/api_tokens.html", {"form": form, "tokens": tokens, "new_token": new_token})


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(CustomerToken, pk=pk, user=request.user, revoked_at__isnull=True)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api_tokens")
