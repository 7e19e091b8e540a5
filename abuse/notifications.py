"""Mail to the account's people when the policy warns or revokes, and when the way back is taken.

Queued after commit (common.outgoing_mail): a decision that rolls back must not reach the customer,
and mail that fails never undoes or stalls one.
"""

from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from abuse.models import PolicyDecision, Revocation
from accounts.models import Account, Membership
from common.outgoing_mail import mail_after_commit


def _send(account: Account, subject: str, template: str, context: dict) -> None:
    _send_all([(account, subject, template, context)])


def _send_all(mails: list[tuple[Account, str, str, dict]]) -> None:
    """Each (account, subject, template, context) to the account's active people; their addresses in one query."""
    recipients = defaultdict(list)
    people = Membership.objects.filter(account__in=[account for account, *_rest in mails], user__is_active=True)
    for account_id, email in people.values_list("account_id", "user__email"):
        recipients[account_id].append(email)
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("abuse_revocation")
    for account, subject, template, context in mails:
        if recipients[account.pk]:
            body = render_to_string(template, {"account": account, "url": url, **context})
            mail_after_commit(subject, body, recipients[account.pk])


def warned(warnings: list[tuple[PolicyDecision, int]]) -> None:
    """Tell each account of its warning: (the decision, how many reports are behind it)."""
    _send_all(
        [
            (
                decision.account,
                _("Abuse reports about your servers (%(account)s)") % {"account": decision.account},
                "abuse/email/warned.txt",
                {"decision": decision, "reports": reports},
            )
            for decision, reports in warnings
        ]
    )


def revoked(revocation: Revocation) -> None:
    subject = _("Port 25 is closed for your account %(account)s") % {"account": revocation.account}
    _send(revocation.account, subject, "abuse/email/revoked.txt", {"revocation": revocation})


def reinstated(revocation: Revocation) -> None:
    subject = _("Port 25 is open again for your account %(account)s") % {"account": revocation.account}
    _send(revocation.account, subject, "abuse/email/reinstated.txt", {"revocation": revocation})


def new_request_required(revocation: Revocation) -> None:
    subject = _("File a new request to open port 25 for %(account)s") % {"account": revocation.account}
    _send(revocation.account, subject, "abuse/email/new_request.txt", {"revocation": revocation})


def traffic_blocked(account: Account, reason: str, until: datetime) -> None:
    subject = _("Port 25 is closed for a while for your account %(account)s") % {"account": account}
    _send(account, subject, "abuse/email/traffic_blocked.txt", {"reason": reason, "until": until})


def blocked_tries(account: Account, attempts: int) -> None:
    subject = _("A server of yours tried to send mail on port 25 (%(account)s)") % {"account": account}
    _send(account, subject, "abuse/email/blocked_tries.txt", {"attempts": attempts})


def over_declared(account: Account, *, sent: int, declared: int, day: str) -> None:
    subject = _("Your servers sent far more mail than declared (%(account)s)") % {"account": account}
    context = {"sent": sent, "declared": declared, "day": day}
    _send(account, subject, "abuse/email/over_declared.txt", context)


def recheck_blocked(account: Account, found: list, until: datetime | None) -> None:
    """Port 25 closed after a re-check: what was found (RecheckFinding rows) and how to be delisted."""
    subject = _("Port 25 is closed for your account %(account)s: a re-check found a problem") % {"account": account}
    _send(account, subject, "abuse/email/recheck_blocked.txt", {"found": found, "until": until})


def recheck_warned(account: Account, found: list) -> None:
    subject = _("A re-check of your servers found a problem (%(account)s)") % {"account": account}
    _send(account, subject, "abuse/email/recheck_warned.txt", {"found": found})


def recheck_lifted(account: Account) -> None:
    subject = _("Port 25 is open again for your account %(account)s") % {"account": account}
    _send(account, subject, "abuse/email/recheck_lifted.txt", {})
