"""Customer pages: the port-25 status, filing a request, following it."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Account
from accounts.selectors import acting_account, servers_of
from egress.traffic_chart import traffic_chart
from requests_app.check_flow import RerunNotAllowed, check_progress, rerun_checks
from requests_app.customer_timeline import customer_timeline
from requests_app.customer_todo import last_rejection, left_to_do
from requests_app.forms import AnswerForm, UnblockRequestForm
from requests_app.lifecycle import IllegalTransition
from requests_app.review import ReviewConflict, answer_question
from requests_app.selectors import Port25Status, port25_status, requests_of
from requests_app.services import RequestNotAllowed, ensure_can_file, submit_request, withdraw_request
from requests_app.use_case_rules import rules_for_browser


def customer_view(view):
    """Signed in and acting for an account; the account is passed to the view."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return view(request, acting_account(request.user), *args, **kwargs)

    return wrapper


def acceptable_use(request: HttpRequest) -> HttpResponse:
    return render(request, "requests_app/aup.html")


@customer_view
def port25(request: HttpRequest, account: Account) -> HttpResponse:
    status = port25_status(account)
    context = {
        "account": account,
        "status": status,
        "left_to_do": left_to_do(account, status.open_request),
        "rejected": last_rejection(account) if status.state == Port25Status.BLOCKED else None,
        "requests": requests_of(account)[:10],
        "servers": servers_of(account),
        "servers_url": settings.PORTAL_SERVERS_URL,
    }
    return render(request, "requests_app/port25.html", context)


@customer_view
def port25_traffic(request: HttpRequest, account: Account) -> HttpResponse:
    """What the enforcement points counted from the account's servers, the last 7 or 30 days."""
    days = 30 if request.GET.get("days") == "30" else 7
    context = {"account": account, "days": days, "chart": traffic_chart(account, days)}
    return render(request, "requests_app/traffic.html", context)


@customer_view
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest, account: Account) -> HttpResponse:
    try:
        ensure_can_file(account)
    except RequestNotAllowed as exc:
        messages.info(request, str(exc))
        return redirect("port25")
    form = UnblockRequestForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            unblock_request = submit_request(account, request.user, form.cleaned_data)
        except RequestNotAllowed as exc:
            messages.error(request, str(exc))
            return redirect("port25")
        messages.success(request, _("Your request is filed. We will email you when it is decided."))
        return redirect("request_detail", pk=unblock_request.pk)
    return render(
        request,
        "requests_app/request_form.html",
        {
            "form": form,
            "account": account,
            "use_case_rules": rules_for_browser(),
            "servers_url": settings.PORTAL_SERVERS_URL,
        },
    )


@customer_view
def request_detail(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    unblock_request = get_object_or_404(requests_of(account), pk=pk)
    return render(
        request,
        "requests_app/request_detail.html",
        {
            "account": account,
            "req": unblock_request,
            "events": customer_timeline(unblock_request),
            "missing": account.missing_verifications(),
            "verification_url": settings.PORTAL_VERIFICATION_URL,
            "conversation": unblock_request.messages.all(),
            "answer_form": AnswerForm(),
            "checks": check_progress(unblock_request),
        },
    )


@customer_view
def request_checks(request: HttpRequest, account: Account, pk: int) -> JsonResponse:
    """Progress of the request's checks, polled by the detail page while they run."""
    unblock_request = get_object_or_404(requests_of(account), pk=pk)
    return JsonResponse(check_progress(unblock_request), encoder=DjangoJSONEncoder)


@customer_view
@require_POST
def request_rerun_checks(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    unblock_request = get_object_or_404(requests_of(account), pk=pk)
    try:
        rerun_checks(unblock_request, request.user)
    except RerunNotAllowed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The checks are running again."))
    return redirect("request_detail", pk=pk)


@customer_view
@require_POST
def request_answer(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    """The customer answers the reviewer's question; the request goes back to the queue."""
    unblock_request = get_object_or_404(requests_of(account), pk=pk)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["answer"]))
    else:
        try:
            answer_question(unblock_request, request.user, form.cleaned_data["answer"])
        except ReviewConflict:
            messages.error(request, _("This request is not waiting for an answer any more."))
        else:
            messages.success(request, _("Thank you; your answer is with the reviewer."))
    return redirect("request_detail", pk=pk)


@customer_view
@require_http_methods(["GET", "POST"])
def request_withdraw(request: HttpRequest, account: Account, pk: int) -> HttpResponse:
    """GET asks the customer to confirm (withdrawing cannot be undone); POST withdraws."""
    unblock_request = get_object_or_404(requests_of(account), pk=pk)
    if request.method == "GET":
        return render(request, "requests_app/withdraw_confirm.html", {"req": unblock_request})
    try:
        withdraw_request(unblock_request, request.user)
    except IllegalTransition:
        messages.error(request, _("This request is already closed and cannot be withdrawn."))
    else:
        messages.success(request, _("Your request is withdrawn."))
    return redirect("request_detail", pk=pk)
