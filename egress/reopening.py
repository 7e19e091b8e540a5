"""Who may open port 25 again: the one rule, on every path that opens it.

A block may carry a hold (AccountEgress.reopen_by): the level of authority that lifting it needs. Who
closes decides the level (abuse: by the revocation's number, PORTAL_ABUSE_REINSTATEMENT); this module
decides who has it. Every opening, whatever its path (a request's approval, a reinstatement, staff in
the egress admin, the system), ends in egress.services.set_desired_state, which asks `refuse_opening`
before it allows the account; the abuse desk's pages ask `may_lift` to offer the way back.

Once someone with the hold's authority required a new request (reopen_by_request), that request's
approval is the way back, whoever approves it: the review has its own rules for who may approve.
"""

from django.utils.translation import gettext as _

from accounts.models import User
from accounts.staff_groups import REOPEN_PERMISSION, REVIEW_PERMISSION
from egress.models import AccountEgress, EgressSource, ReopenLevel


class ReopenRefused(PermissionError):
    """The account's block carries a hold this opening does not lift; the message says who may."""


def may_lift(user: User | None, level: str) -> bool:
    """Whether `user` has the authority a hold of this level needs (the system, None, has none)."""
    if user is None:
        return False
    if user.is_superuser:
        return True
    if level == ReopenLevel.SUPERUSER or not user.has_perm(REOPEN_PERMISSION):
        return False
    return level == ReopenLevel.ABUSE_DESK or user.has_perm(REVIEW_PERMISSION)


def refuse_opening(egress: AccountEgress, actor: User | None, source: str) -> None:
    """Raise ReopenRefused unless this opening lifts the account's hold (or it has none)."""
    if not egress.reopen_by:
        return
    if egress.reopen_by_request and source == EgressSource.REQUEST:
        return
    if may_lift(actor, egress.reopen_by):
        return
    raise ReopenRefused(
        _("Only %(who)s may open port 25 of this account again.") % {"who": ReopenLevel(egress.reopen_by).label}
    )
