"""Mail to the account's people when the policy warns or revokes, and when the way back is taken.

Sent after commit: a decision that rolls back must not reach the customer.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from abuse.models import PolicyDecision, Revocation
from accounts.models import Account, Membership


def _send(account: Account, subject: str, template: str, context: dict) -> None:
    recipients = list(
        Membership.objects.filter(account=account, user__is_active=True).values_list("user__email", flat=True)
    )
    if not recipients:
        return
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("abuse_revocation")
    body = render_to_string(template, {"account": account, "url": url, **context})
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients))


def warned(decision: PolicyDecision) -> None:
    subject = _("Abuse reports about your servers (%(account)s)") % {"account": decision.account}
    _send(decision.account, subject, "abuse/email/warned.txt", {"decision": decision})


def revoked(revocation: Revocation) -> None:
    subject = _("Port 25 is closed for your account %(account)s") % {"account": revocation.account}
    _send(revocation.account, subject, "abuse/email/revoked.txt", {"revocation": revocation})


def reinstated(revocation: Revocation) -> None:
    subject = _("Port 25 is open again for your account %(account)s") % {"account": revocation.account}
    _send(revocation.account, subject, "abuse/email/reinstated.txt", {"revocation": revocation})


def new_request_required(revocation: Revocation) -> None:
    subject = _("File a new request to open port 25 for %(account)s") % {"account": revocation.account}
    _send(revocation.account, subject, "abuse/email/new_request.txt", {"revocation": revocation})
