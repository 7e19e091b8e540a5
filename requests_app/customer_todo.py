"""What the customer still has to do, for the headline of their home page: in words, one item per thing.

While a request is open: a question to answer, each failed check to fix (its own sentence says how),
each verification the provider requires and the account lacks. After a rejection: that it was rejected,
the reviewer's reason, and that a new request may follow once it is fixed.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import Account
from requests_app.models import Status, UnblockRequest
from verification.checks import check_label
from verification.models import ResultStatus
from verification.selectors import latest_run


@dataclass(frozen=True)
class ToDo:
    text: str
    detail: str = ""


def left_to_do(account: Account, open_request: UnblockRequest | None) -> list[ToDo]:
    """What stands between the open request and a reviewer's approval that the customer can change."""
    if open_request is None:
        return []
    items = []
    if open_request.status == Status.NEEDS_INFO:
        items.append(ToDo(_("Answer the reviewer's question.")))
    run = latest_run(f"unblock_request:{open_request.pk}")
    failed = [r for r in run.results.all() if r.status == ResultStatus.FAIL] if run and run.is_finished else []
    items += [ToDo(_("Fix: %(check)s.") % {"check": check_label(r.check_name)}, r.summary) for r in failed]
    items += [
        ToDo(_("Complete the %(verification)s in the control panel.") % {"verification": missing})
        for missing in account.missing_verifications()
    ]
    return items


def last_rejection(account: Account) -> UnblockRequest | None:
    """The account's latest request when it was rejected (and nothing newer was filed), else None."""
    latest = UnblockRequest.objects.filter(account=account).order_by("-created_at", "-pk").first()
    return latest if latest is not None and latest.status == Status.REJECTED else None
