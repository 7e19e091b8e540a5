"""Password reset that tells nobody which addresses have accounts: not by its page, its time or its limits.

The request does the same work for every address: it counts the post against two limits and
queues one task after the commit; the worker looks the address up and mails the link, or nothing
(accounts.tasks). Before, the mail was sent inside the request (251 ms for a known address against
48 ms with a 200 ms relay) and nothing limited how often anyone asked (25 of 25 taken).

Limits, per client address (PORTAL_PASSWORD_RESET_RATE) and per typed e-mail address
(PORTAL_PASSWORD_RESET_ADDRESS_RATE): the second keeps one person's mailbox from being flooded
from many clients. Both count whether the address has an account or not, and the refusal says
the same for either.
"""

import logging
import math
from functools import partial

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from kombu.exceptions import OperationalError

from accounts.form_throttle import wait_before
from accounts.tasks import mail_password_reset
from common.client_address import client_address

logger = logging.getLogger(__name__)


def wait_before_reset(client: str, email: str) -> float | None:
    """None if a reset for `email` from `client` may go ahead now (it is counted), else seconds to wait."""
    wait = wait_before("password_reset_client", settings.PORTAL_PASSWORD_RESET_RATE, client)
    if wait is None:
        wait = wait_before("password_reset_address", settings.PORTAL_PASSWORD_RESET_ADDRESS_RATE, email.lower())
    return wait


def _queue(email: str, domain: str, use_https: bool) -> None:
    try:
        mail_password_reset.delay(email, domain, use_https)
    except OperationalError:
        logger.exception("Could not queue a password reset: the broker is unavailable")


class QueuedPasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, with the lookup and the mail moved to the worker and the posts limited."""

    form_class = PasswordResetForm

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"]
        wait = wait_before_reset(client_address(self.request) or "", email)
        if wait is not None:
            minutes = max(1, math.ceil(wait / 60))
            return render(self.request, "registration/password_reset_throttled.html", {"minutes": minutes}, status=429)
        job = partial(_queue, email, get_current_site(self.request).domain, self.request.is_secure())
        transaction.on_commit(job, robust=True)
        return HttpResponseRedirect(self.get_success_url())
