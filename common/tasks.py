"""Celery tasks of the common floor: sending one mail (queued after commit by common.outgoing_mail)."""

import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=settings.PORTAL_MAIL_RETRY_SECONDS,
    retry_backoff_max=600,
    retry_jitter=False,
    max_retries=settings.PORTAL_MAIL_MAX_RETRIES,
)
def send_mail_task(subject: str, body: str, recipients: list[str]) -> int:
    """Send one mail; an SMTP failure raises and Celery retries it, the waits doubling up to 10 minutes."""
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
