"""What reviewers do with a request. Every action locks the row and checks what the reviewer saw.

A reviewer acts on the page as it was when they opened it; `expected_status`
is that status. If someone else moved the request meanwhile, the action is
refused with ReviewConflict and nothing is applied.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from egress.models import EgressSource, EgressState
from egress.reopening import ReopenRefused
from egress.services import set_desired_state
from requests_app import notifications
from requests_app.lifecycle import IllegalTransition, transition
from requests_app.models import (
    ReasonTemplate,
    RequestApproval,
    RequestEvent,
    RequestMessage,
    Status,
    UnblockRequest,
)
from requests_app.review_rules import RULES, missing_verifications_refusal, needs_four_eyes


class ReviewConflict(Exception):
    """The action cannot be applied; the message tells the reviewer why."""


def _locked(request_id: int, expected_status: str | None) -> UnblockRequest:
    request = UnblockRequest.objects.select_for_update().get(pk=request_id)
    if expected_status is not None and request.status != expected_status:
        raise ReviewConflict(
            _("Someone else changed this request meanwhile; it is now “%(status)s”. Nothing was done.")
            % {"status": request.get_status_display()}
        )
    return request


def _move(request: UnblockRequest, to: str, actor: User | None, message: str) -> UnblockRequest:
    try:
        return transition(request.pk, to, actor=actor, message=message, expected_from=request.status)
    except IllegalTransition as exc:
        raise ReviewConflict(
            _("A request that is “%(status)s” cannot be moved to “%(to)s”.")
            % {"status": request.get_status_display(), "to": Status(to).label}
        ) from exc


def _refuse_unless_allowed(action: str, request: UnblockRequest, reviewer: User | None) -> None:
    """The rule the request page asks before it offers the action (requests_app.review_rules)."""
    refusal = RULES[action](request, reviewer)
    if refusal:
        raise ReviewConflict(refusal)


@transaction.atomic
def assign(request_id: int, reviewer: User, assignee: User | None) -> UnblockRequest:
    """Take a request (assignee = reviewer), hand it to a colleague, or release it (None)."""
    request = _locked(request_id, None)
    _refuse_unless_allowed("assign", request, reviewer)
    request.assignee = assignee
    request.save(update_fields=["assignee", "updated_at"])
    RequestEvent.objects.create(
        request=request,
        actor=reviewer,
        kind=RequestEvent.Kind.ASSIGNMENT,
        message=_("Assigned to %(who)s.") % {"who": assignee} if assignee else _("Released."),
    )
    return request


def _record_override(request: UnblockRequest, reviewer: User | None, override: str) -> None:
    """A superuser approves although a required verification is missing (the rule let them): only with a reason."""
    missing = request.account.missing_verifications()
    if not missing:
        return
    if not override.strip():
        raise ReviewConflict(missing_verifications_refusal(request))
    RequestEvent.objects.create(
        request=request,
        actor=reviewer,
        kind=RequestEvent.Kind.NOTE,
        message=_("Approved without %(missing)s: %(why)s")
        % {"missing": _(" and ").join(missing), "why": override.strip()},
    )


@transaction.atomic
def approve(
    request_id: int,
    reviewer: User | None,
    *,
    expected_status: str,
    note: str = "",
    auto: bool = False,
    override: str = "",
) -> bool:
    """Approve, or record the first of two approvals. Returns True once port 25 is opened.

    `override` is a superuser's reason to approve although a required verification is missing.
    """
    request = _locked(request_id, expected_status)
    _refuse_unless_allowed("approve", request, reviewer)
    _record_override(request, reviewer, override)
    if needs_four_eyes(request) and not auto:
        RequestApproval.objects.create(request=request, reviewer=reviewer)
        if request.approvals.count() < 2:
            RequestEvent.objects.create(request=request, actor=reviewer, kind=RequestEvent.Kind.APPROVAL, message=note)
            return False
    request.decision_reason = note
    request.auto_decided = auto
    request.save(update_fields=["decision_reason", "auto_decided", "updated_at"])
    request = _move(request, Status.APPROVED, reviewer, note or _("Approved."))
    try:
        set_desired_state(
            request.account,
            EgressState.ALLOWED,
            source=EgressSource.REQUEST,
            reason=_("Request #%(id)d approved.") % {"id": request.pk},
            actor=reviewer,
            expected_daily_volume=request.daily_volume,
            sending_domain=request.sending_domain,
        )
    except ReopenRefused as exc:
        raise ReviewConflict(str(exc)) from exc
    notifications.decision_made(request)
    return True


@transaction.atomic
def reject(
    request_id: int,
    reviewer: User | None,
    *,
    expected_status: str,
    reason: ReasonTemplate | None,
    text: str = "",
    auto: bool = False,
) -> UnblockRequest:
    """Reject with a reason the customer reads: a template's text, the reviewer's words, or both."""
    request = _locked(request_id, expected_status)
    _refuse_unless_allowed("reject", request, reviewer)
    customer_reason = "\n\n".join(part for part in (reason.text if reason else "", text.strip()) if part)
    if not customer_reason:
        raise ReviewConflict(_("Pick a reason or write one: the customer must learn why."))
    request.decision_reason = customer_reason
    request.auto_decided = auto
    request.save(update_fields=["decision_reason", "auto_decided", "updated_at"])
    request = _move(request, Status.REJECTED, reviewer, customer_reason)
    notifications.decision_made(request)
    return request


@transaction.atomic
def ask_for_information(request_id: int, reviewer: User, *, expected_status: str, question: str) -> UnblockRequest:
    if not question.strip():
        raise ReviewConflict(_("Write the question the customer should answer."))
    request = _locked(request_id, expected_status)
    _refuse_unless_allowed("ask", request, reviewer)
    RequestMessage.objects.create(request=request, author=reviewer, from_staff=True, body=question.strip())
    request = _move(request, Status.NEEDS_INFO, reviewer, _("More information asked."))
    notifications.information_needed(request, question.strip())
    return request


@transaction.atomic
def answer_question(request: UnblockRequest, customer: User, answer: str) -> UnblockRequest:
    """The customer's answer puts the request back in the review queue."""
    request = _locked(request.pk, Status.NEEDS_INFO)
    RequestMessage.objects.create(request=request, author=customer, from_staff=False, body=answer.strip())
    return _move(request, Status.AWAITING_REVIEW, customer, _("The customer answered."))


@transaction.atomic
def withdraw_for_customer(request_id: int, reviewer: User, *, expected_status: str, note: str) -> UnblockRequest:
    request = _locked(request_id, expected_status)
    _refuse_unless_allowed("withdraw", request, reviewer)
    return _move(request, Status.WITHDRAWN, reviewer, note or _("Withdrawn by staff for the customer."))


@transaction.atomic
def reverse_auto_approval(request_id: int, reviewer: User, *, reason: str) -> UnblockRequest:
    """Staff overrule the policy: the request becomes rejected and port 25 is closed again."""
    request = _locked(request_id, Status.APPROVED)
    _refuse_unless_allowed("reverse", request, reviewer)
    if not reason.strip():
        raise ReviewConflict(_("Write why the automatic approval is reversed; the customer reads it."))
    request.decision_reason = reason.strip()
    request.auto_decided = False
    request.save(update_fields=["decision_reason", "auto_decided", "updated_at"])
    request = _move(request, Status.REJECTED, reviewer, reason.strip())
    set_desired_state(
        request.account,
        EgressState.BLOCKED,
        source=EgressSource.STAFF,
        reason=_("Automatic approval of request #%(id)d reversed.") % {"id": request.pk},
        actor=reviewer,
    )
    notifications.decision_made(request)
    return request
