"""How each enforcement target stands, for staff and the operator's metrics: in sync, behind or
failing; addresses desired and applied; the oldest owed change's age; the last error in words.

"Applied" counts the desired addresses that no open outbox row of the target still owes: the rest
were applied by a change or a reconciliation. A read only: nothing here writes.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from egress.models import ChangeStatus, EgressChange, EgressTarget
from egress.selectors import OPEN, addresses_of, allowed_among

IN_SYNC, BEHIND, FAILING = "in sync", "behind", "failing"


@dataclass(frozen=True)
class TargetStatus:
    name: str
    state: str  # IN_SYNC, BEHIND or FAILING
    desired: int
    applied: int
    owed: int  # open outbox rows
    oldest_owed_age: timedelta | None
    last_error: str  # as the backend said it
    explanation: str  # the same in words, empty when there is no error

    @property
    def state_label(self) -> str:
        return {IN_SYNC: _("in sync"), BEHIND: _("behind"), FAILING: _("failing")}[self.state]


def target_status(name: str, desired: int, *, now: datetime | None = None) -> TargetStatus:
    """`desired`: how many addresses the database allows (the same for every target; counted once)."""
    now = now or timezone.now()
    rows = list(
        EgressChange.objects.filter(target=name, status__in=OPEN)
        .order_by("created_at")
        .values("account_id", "addresses", "status", "attempts", "last_error", "created_at")
    )
    owed = {ip for row in rows for ip in row["addresses"]} | addresses_of({row["account_id"] for row in rows})
    target = EgressTarget.objects.filter(name=name).first()
    errors = [row["last_error"] for row in rows if row["last_error"]]
    last_error = errors[-1] if errors else (target.last_error if target else "")
    failed = any(row["status"] == ChangeStatus.FAILED or row["attempts"] for row in rows)
    state = FAILING if failed or (target and target.last_error) else BEHIND if rows else IN_SYNC
    return TargetStatus(
        name=name,
        state=state,
        desired=desired,
        applied=desired - len(allowed_among(owed)) if owed else desired,
        owed=len(rows),
        oldest_owed_age=now - rows[0]["created_at"] if rows else None,
        last_error=last_error,
        explanation=explain(last_error) if last_error else "",
    )


def explain(error: str) -> str:
    """What a backend's error means for staff, in a sentence; the raw text is shown beside it."""
    if "answered 401" in error or "answered 403" in error:
        return _("The gateway refused the portal's token: check the target's token.")
    if "CERTIFICATE_VERIFY_FAILED" in error or "certificate verify failed" in error:
        return _("The gateway's certificate is not signed by the CA the target pins (ca_file): the portal refused it.")
    if "timed out" in error:
        return _("The gateway did not answer in time.")
    if "answered 5" in error:
        return _("The gateway could not apply the change; it is retried.")
    if "answered 4" in error:
        return _("The gateway refused the change; the next reconciliation sends the whole state again.")
    if "failed:" in error:
        return _("The gateway could not be reached.")
    return _("The target failed.")
