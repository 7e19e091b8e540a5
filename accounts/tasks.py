"""Work of the accounts app that the worker does, out of the request that asked for it."""

from celery import shared_task
from django.contrib.auth.forms import PasswordResetForm
from django.template.loader import render_to_string

from common.outgoing_mail import mail_after_commit


class _ResetMailForm(PasswordResetForm):
    """Django's reset mail, handed to the mail task (retried on SMTP failures) instead of sent here."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict,
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        mail_after_commit(subject, render_to_string(email_template_name, context), [to_email])


@shared_task
def mail_password_reset(email: str, domain: str, use_https: bool) -> None:
    """Mail a reset link to each active login of `email`; for an unknown address, nothing.

    The lookup happens here, not in the request, so that the request does the same work whether the
    address has an account or not (accounts.password_reset).
    """
    form = _ResetMailForm({"email": email})
    if form.is_valid():
        form.save(domain_override=domain, use_https=use_https)
