"""The customer's page about abuse reports: why port 25 was closed, the evidence, the way back."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from abuse import revocations, selectors
from abuse.forms import FixForm
from accounts.selectors import acting_account
from egress.models import ReopenLevel


@login_required
@require_http_methods(["GET", "POST"])
def revocation(request: HttpRequest) -> HttpResponse:
    account = acting_account(request.user)
    latest = selectors.latest_revocation(account)
    form = FixForm(request.POST or None)
    if request.method == "POST":
        if latest is None or not latest.is_open:
            raise Http404(_("Port 25 is not revoked."))
        if form.is_valid():
            revocations.report_fix(latest, request.user, form.cleaned_data["note"])
            messages.success(request, _("Thank you. The abuse desk will read your answer and decide."))
            return redirect("abuse_revocation")
    warning = selectors.latest_warning(account)
    shown = latest.decision if latest is not None else warning
    context = {
        "account": account,
        "revocation": latest,
        "warning": warning if latest is None or not latest.is_open else None,
        "evidence": selectors.evidence_for_customer(shown) if shown is not None else [],
        "final": latest is not None and revocations.required_level(latest) == ReopenLevel.SUPERUSER,
        "form": form,
    }
    return render(request, "abuse/revocation.html", context)
