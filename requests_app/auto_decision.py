"""The optional policy that decides simple requests without a person (off unless configured).

Its decisions go through the same review services as a reviewer's, are marked as
decided by policy and carry the policy's reasons, and staff can reverse them.
"""

from django.conf import settings
from django.utils.translation import gettext as _

from requests_app import review, review_rules
from requests_app.models import Status, UnblockRequest, UseCase
from verification.models import CheckRun, ResultStatus


def approval_reasons(request: UnblockRequest, run: CheckRun) -> list[str] | None:
    """Why the policy may approve this request, or None when a person must look at it."""
    results = list(run.results.all())
    account = request.account
    if not (
        results
        and all(r.status == ResultStatus.PASS for r in results)
        and request.daily_volume <= settings.PORTAL_AUTO_APPROVE_MAX_VOLUME
        and request.use_case != UseCase.MARKETING
        and not account.missing_verifications()
        and not review_rules.needs_four_eyes(request)
    ):
        return None
    return [
        _("all %(n)d automated checks passed") % {"n": len(results)},
        _("declared volume %(v)d ≤ %(max)d a day")
        % {"v": request.daily_volume, "max": settings.PORTAL_AUTO_APPROVE_MAX_VOLUME},
        _("the required verifications complete"),
    ]


def auto_decide(request_id: int, run: CheckRun) -> bool:
    """Apply the policy after the checks; True when it approved the request."""
    if not settings.PORTAL_AUTO_APPROVE:
        return False
    request = UnblockRequest.objects.select_related("account").get(pk=request_id)
    reasons = approval_reasons(request, run)
    if reasons is None:
        return False
    note = _("Approved automatically by policy: %(reasons)s.") % {"reasons": "; ".join(reasons)}
    try:
        return review.approve(request_id, None, expected_status=Status.AWAITING_REVIEW, note=note, auto=True)
    except review.ReviewConflict:
        return False
