"""The customer's page about abuse reports: why port 25 was closed, the evidence, the way back."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from abuse import revocations, selectors, tasks
from abuse.forms import FixForm
from accounts.selectors import acting_account
from egress.models import ReopenLevel
from verification.selectors import recheck_findings


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
        "rechecks": recheck_findings(account),
    }
    return render(request, "abuse/revocation.html", context)


@login_required
@require_http_methods(["POST"])
def recheck_now(request: HttpRequest) -> HttpResponse:
    """The customer fixed what a re-check found: re-check the account's addresses now, once per while."""
    account = acting_account(request.user)
    seconds = settings.PORTAL_RECHECK_ON_DEMAND_SECONDS
    if not recheck_findings(account)["watched"]:
        messages.error(request, _("Your servers are re-checked only while port 25 is open (or closed by a re-check)."))
    elif cache.add(f"recheck-on-demand:{account.pk}", True, timeout=seconds):
        transaction.on_commit(lambda: tasks.recheck_account.delay(account.pk))
        messages.success(request, _("Your servers are being re-checked; this page shows the result in a minute."))
    else:
        messages.error(
            request,
            _("Your servers were re-checked a moment ago; you can ask again %(minutes)d minutes after that.")
            % {"minutes": max(1, seconds // 60)},
        )
    return redirect("abuse_revocation")
