"""Reads for customer pages and the API: always scoped to one account."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from egress.models import EgressState
from egress.selectors import desired_egress
from requests_app.models import Status, UnblockRequest
from verification.scoring import RISK_EXPLAINED
from verification.selectors import latest_run, run_progress


@dataclass(frozen=True)
class Port25Status:
    BLOCKED = "blocked"
    PENDING = "pending"
    OPEN = "open"
    REVOKED = "revoked"
    LABELS = {
        BLOCKED: _("Blocked"),
        PENDING: _("Pending review"),
        OPEN: _("Open"),
        REVOKED: _("Revoked"),
    }

    state: str
    reason: str
    open_request: UnblockRequest | None

    @property
    def needs_customer(self) -> bool:
        """A reviewer asked a question: nothing moves until the customer answers."""
        return self.open_request is not None and self.open_request.status == Status.NEEDS_INFO

    @property
    def label(self) -> str:
        if self.state == self.PENDING and self.needs_customer:
            return str(_("Waiting for your answer"))
        return str(self.LABELS[self.state])


def oldest_awaiting_review() -> datetime | None:
    """Since when the longest-waiting request in the review queue has waited (the queue's age); None if empty."""
    return UnblockRequest.objects.filter(status=Status.AWAITING_REVIEW).aggregate(t=Min("status_changed_at"))["t"]


def requests_of(account: Account) -> QuerySet[UnblockRequest]:
    return UnblockRequest.objects.filter(account=account)


def port25_status(account: Account) -> Port25Status:
    """What the customer is told first: can this account send on port 25, and if not, why."""
    egress = desired_egress(account)
    open_request = requests_of(account).open().first()
    if egress.desired == EgressState.ALLOWED:
        state = Port25Status.OPEN
    elif open_request is not None:
        state = Port25Status.PENDING
    elif egress.revoked_for_abuse:
        state = Port25Status.REVOKED
    else:
        state = Port25Status.BLOCKED
    return Port25Status(state=state, reason=egress.reason, open_request=open_request)


def review_context(request: UnblockRequest) -> dict:
    """Everything a reviewer reads on one page besides the customer's answers."""
    account = request.account
    return {
        "req": request,
        "account": account,
        "servers": account.servers.prefetch_related("addresses").order_by("deleted_at", "hostname"),
        "earlier_requests": requests_of(account).exclude(pk=request.pk).order_by("-created_at"),
        "events": request.events.select_related("actor"),
        "conversation": request.messages.select_related("author"),
        "approvals": request.approvals.select_related("reviewer"),
        "port25": port25_status(account),
        "checks": run_progress(latest_run(f"unblock_request:{request.pk}")),
        "risk_explained": RISK_EXPLAINED,
    }
