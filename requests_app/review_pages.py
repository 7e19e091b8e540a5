"""The reviewer's actions as pages of their own: each shows its form and, on POST, calls requests_app.review.

One small function per action turns the form's data into a service call and says what happened.
The permission check is the admin's (requests_app.admin), before any of this runs.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from common.admin_form_page import form_page
from requests_app import check_flow, review, review_forms
from requests_app.models import UnblockRequest
from requests_app.review_rules import RULES, may_override_verifications


def _take(pk: int, user: User, data: dict) -> str:
    review.assign(pk, user, user)
    return _("You took this request.")


def _assign(pk: int, user: User, data: dict) -> str:
    review.assign(pk, user, data["assignee"])
    return _("Assignment saved.")


def _approve(pk: int, user: User, data: dict) -> str:
    opened = review.approve(
        pk, user, expected_status=data["expected_status"], note=data["note"], override=data.get("override", "")
    )
    if opened:
        return _("Approved: port 25 is being opened for the account.")
    return _("Your approval is recorded; a second reviewer must approve too.")


def _reject(pk: int, user: User, data: dict) -> str:
    review.reject(pk, user, expected_status=data["expected_status"], reason=data["reason"], text=data["text"])
    return _("Rejected; the customer is told why.")


def _ask(pk: int, user: User, data: dict) -> str:
    review.ask_for_information(pk, user, expected_status=data["expected_status"], question=data["question"])
    return _("Question sent; the request waits on the customer.")


def _withdraw(pk: int, user: User, data: dict) -> str:
    review.withdraw_for_customer(pk, user, expected_status=data["expected_status"], note=data["note"])
    return _("Withdrawn for the customer.")


def _rerun(pk: int, user: User, data: dict) -> str:
    try:
        check_flow.rerun_checks(UnblockRequest.objects.get(pk=pk), user, by_staff=True)
    except check_flow.RerunNotAllowed as exc:
        raise review.ReviewConflict(str(exc)) from exc
    return _("Checks queued again.")


def _reverse(pk: int, user: User, data: dict) -> str:
    review.reverse_auto_approval(pk, user, reason=data["reason"])
    return _("Automatic approval reversed; port 25 is being closed.")


@dataclass(frozen=True)
class ReviewAction:
    title: str
    submit: str
    form_class: type[forms.Form]
    apply: Callable[[int, User, dict], str]
    explanation: str = ""
    danger: bool = False


ACTIONS: dict[str, ReviewAction] = {
    "take": ReviewAction(
        gettext_lazy("Take this request"),
        gettext_lazy("Take it"),
        review_forms.ConfirmForm,
        _take,
        gettext_lazy("You become its assignee, so that colleagues know you are on it."),
    ),
    "assign": ReviewAction(
        gettext_lazy("Assign this request"), gettext_lazy("Assign"), review_forms.AssignForm, _assign
    ),
    "approve": ReviewAction(
        gettext_lazy("Approve and open port 25"),
        gettext_lazy("Approve and open port 25"),
        review_forms.ApproveForm,
        _approve,
        gettext_lazy("Port 25 opens for the whole account, its current and future servers."),
    ),
    "reject": ReviewAction(
        gettext_lazy("Reject this request"),
        gettext_lazy("Reject"),
        review_forms.RejectForm,
        _reject,
        gettext_lazy("The customer reads the reason you pick and the words you add."),
        danger=True,
    ),
    "ask": ReviewAction(gettext_lazy("Ask the customer"), gettext_lazy("Ask the customer"), review_forms.AskForm, _ask),
    "withdraw": ReviewAction(
        gettext_lazy("Withdraw for the customer"),
        gettext_lazy("Withdraw for the customer"),
        review_forms.WithdrawForm,
        _withdraw,
        gettext_lazy("For a customer who asked you to; the request closes and nothing opens."),
        danger=True,
    ),
    "rerun": ReviewAction(
        gettext_lazy("Re-run the checks"), gettext_lazy("Re-run the checks"), review_forms.ConfirmForm, _rerun
    ),
    "reverse": ReviewAction(
        gettext_lazy("Reverse the automatic approval"),
        gettext_lazy("Reverse the automatic approval"),
        review_forms.ReverseForm,
        _reverse,
        gettext_lazy("The request becomes rejected and port 25 closes again."),
        danger=True,
    ),
}


def refusal(name: str, unblock_request: UnblockRequest, user: User) -> str | None:
    """Why `user` may not take the action now, or None: asked of the rule's owner, the one the service applies."""
    if name == "rerun":
        return check_flow.rerun_refusal(unblock_request, by_staff=True)
    return RULES[name](unblock_request, user)


def offered_actions(unblock_request: UnblockRequest, user: User) -> list[tuple[str, ReviewAction, str]]:
    """The actions `user` may take on the request as it stands, as (name, action, url) for the review page."""
    return [
        (name, action, reverse("admin:requests_app_unblockrequest_review", args=[unblock_request.pk, name]))
        for name, action in ACTIONS.items()
        if refusal(name, unblock_request, user) is None
    ]


def _form(action: ReviewAction, http_request: HttpRequest, unblock_request: UnblockRequest) -> forms.Form:
    kwargs = {}
    if issubclass(action.form_class, review_forms.ApproveForm):
        kwargs = {"offer_override": may_override_verifications(unblock_request, http_request.user)}
    if http_request.method == "POST":
        return action.form_class(http_request.POST, **kwargs)
    initial = {"expected_status": unblock_request.status, "assignee": unblock_request.assignee_id}
    return action.form_class(initial=initial, **kwargs)


def action_page(model_admin: admin.ModelAdmin, http_request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """GET shows the action's form with the request it acts on; a valid POST acts and returns to the request."""
    if name not in ACTIONS:
        raise Http404
    action = ACTIONS[name]
    unblock_request = get_object_or_404(UnblockRequest.objects.select_related("account"), pk=pk)
    form = _form(action, http_request, unblock_request)
    status = 200
    refused = refusal(name, unblock_request, http_request.user)
    if refused and http_request.method == "GET":
        # The page offers no button for it; a stale link or a typed URL is told why, with nothing to submit.
        form = None
        status = 409
    elif http_request.method == "POST":
        if form.is_valid():
            try:
                done = action.apply(pk, http_request.user, form.cleaned_data)
            except review.ReviewConflict as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(http_request, done)
                return HttpResponseRedirect(reverse("admin:requests_app_unblockrequest_change", args=[pk]))
        else:
            status = 400
    return form_page(
        model_admin,
        http_request,
        form,
        action.title,
        template="admin/requests_app/unblockrequest/action.html",
        status=status,
        action=action,
        refused=refused,
        req=unblock_request,
    )
