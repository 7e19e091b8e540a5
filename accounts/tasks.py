"""Celery tasks of accounts: thin doors to the work (a second run mails a second, equally valid link)."""

from celery import shared_task

from accounts import reset_mail


@shared_task(ignore_result=True)
def mail_password_reset(email: str, domain: str, use_https: bool) -> None:
    """The reset link for `email`, if it has an account (accounts.password_reset queues it for any address)."""
    reset_mail.mail_reset_links(email, domain, use_https)
