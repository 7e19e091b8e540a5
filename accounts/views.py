from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import SignupForm
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
