"""The password reset mail, as the worker writes it: the address looked up there, never in the request.

Django's reset form finds the active logins of the address and writes each a link; its mail goes
to the mail task (retried on SMTP failures) instead of being sent here (accounts.password_reset says
why the request does none of this).
"""

from django.contrib.auth.forms import PasswordResetForm
from django.template.loader import render_to_string

from common.outgoing_mail import mail_after_commit


class _ResetMailForm(PasswordResetForm):
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


def mail_reset_links(email: str, domain: str, use_https: bool) -> None:
    """Mail a reset link to each active login of `email`; for an unknown address, nothing."""
    form = _ResetMailForm({"email": email})
    if form.is_valid():
        form.save(domain_override=domain, use_https=use_https)
