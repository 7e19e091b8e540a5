"""Mail to the customer when their request needs them or is decided; queued after the commit (common.outgoing_mail)."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from common.outgoing_mail import mail_after_commit
from requests_app.models import Status, UnblockRequest


def _send(request: UnblockRequest, subject: str, template: str, extra: dict | None = None) -> None:
    context = {
        "req": request,
        "url": settings.PORTAL_BASE_URL.rstrip("/") + reverse("request_detail", args=[request.pk]),
        **(extra or {}),
    }
    body = render_to_string(template, context)
    mail_after_commit(subject, body, [request.created_by.email])


def decision_made(request: UnblockRequest) -> None:
    if request.status == Status.APPROVED:
        subject = _("Port 25 is open for your account (request #%(id)d)") % {"id": request.pk}
    else:
        subject = _("Your port 25 request #%(id)d was not approved") % {"id": request.pk}
    _send(request, subject, "requests_app/email/decision.txt")


def information_needed(request: UnblockRequest, question: str) -> None:
    subject = _("We need more information about your port 25 request #%(id)d") % {"id": request.pk}
    _send(request, subject, "requests_app/email/needs_info.txt", {"question": question})
