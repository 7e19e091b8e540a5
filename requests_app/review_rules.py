"""What a reviewer may do to a request as it stands: the one rule the review services enforce and the page asks.

Each rule returns the sentence the reviewer reads when the action is refused, or None when it is allowed.
requests_app.review applies them inside its row lock; the request page offers exactly the actions whose
rule returns None (requests_app.review_pages), so a button is never shown for an action that would be refused.
Re-running the checks has its own owner, requests_app.check_flow.rerun_refusal.
"""

from collections.abc import Callable

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from requests_app.lifecycle import can_move
from requests_app.models import Status, UnblockRequest, UseCase


def needs_four_eyes(request: UnblockRequest) -> bool:
    """Large or marketing senders are approved by two different reviewers."""
    return request.use_case == UseCase.MARKETING or request.daily_volume > settings.PORTAL_FOUR_EYES_VOLUME


def _moves_to(to: str, verb: object) -> Callable[[UnblockRequest, User | None], str | None]:
    def rule(request: UnblockRequest, reviewer: User | None) -> str | None:
        if request.is_open and can_move(request.status, to):
            return None
        return _("A request that is “%(status)s” cannot be %(verb)s.") % {
            "status": request.get_status_display(),
            "verb": verb,
        }

    return rule


def assignment_refusal(request: UnblockRequest, reviewer: User | None) -> str | None:
    if request.is_open:
        return None
    return _("This request is decided (“%(status)s”); there is nothing left to assign.") % {
        "status": request.get_status_display()
    }


def take_refusal(request: UnblockRequest, reviewer: User | None) -> str | None:
    if reviewer is not None and request.assignee_id == reviewer.pk:
        return _("You have this request already.")
    return assignment_refusal(request, reviewer)


def missing_verifications_refusal(request: UnblockRequest) -> str:
    return _("The account still lacks %(missing)s; it cannot be approved until the customer completes it.") % {
        "missing": _(" and ").join(request.account.missing_verifications())
    }


def may_override_verifications(request: UnblockRequest, reviewer: User | None) -> bool:
    """A superuser may approve although a required verification is missing, with a reason; only then is it asked."""
    return reviewer is not None and reviewer.is_superuser and bool(request.account.missing_verifications())


def approval_refusal(request: UnblockRequest, reviewer: User | None) -> str | None:
    """The reviewer's approval (the policy's approvals pass reviewer=None and skip the four eyes)."""
    if request.status != Status.AWAITING_REVIEW:
        return _("Only a request awaiting review can be approved.")
    if reviewer is not None and needs_four_eyes(request) and request.approvals.filter(reviewer=reviewer).exists():
        return _("You approved this request already; a second reviewer must approve it too.")
    account = request.account
    if reviewer is not None and reviewer.pk in (account.identity_verified_by_id, account.payment_verified_by_id):
        # Whoever recorded the account's verification does not approve on it, superusers too.
        return _("You recorded this account's verification yourself; another reviewer must approve its request.")
    if request.account.missing_verifications() and not may_override_verifications(request, reviewer):
        return missing_verifications_refusal(request)
    return None


def reversal_refusal(request: UnblockRequest, reviewer: User | None) -> str | None:
    if request.status == Status.APPROVED and request.auto_decided:
        return None
    return _("Only a decision made by the policy can be reversed here.")


RULES: dict[str, Callable[[UnblockRequest, User | None], str | None]] = {
    "take": take_refusal,
    "assign": assignment_refusal,
    "approve": approval_refusal,
    "ask": _moves_to(Status.NEEDS_INFO, gettext_lazy("asked about")),
    "reject": _moves_to(Status.REJECTED, gettext_lazy("rejected")),
    "withdraw": _moves_to(Status.WITHDRAWN, gettext_lazy("withdrawn")),
    "reverse": reversal_refusal,
}
