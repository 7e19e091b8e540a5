"""Sign-up that tells nobody which addresses have accounts, throttled per client address.

The page answers a known and an unknown address the same way, byte for byte ("check your mail");
the mail says the rest: a welcome with the sign-in link for a new account, a note to the owner
of an existing one (who may have forgotten it). Without this, sign-up answered "an account with
this email address exists already" to anyone, staff addresses included, as fast as they asked.
Both ways hash the password once (a known address's hash is thrown away): before, only a new
account's was hashed, and the answer took 54 ms for a known address against 489 ms.
"""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.form_throttle import wait_before
from accounts.models import User
from accounts.services import register_customer
from common.client_address import client_address
from common.outgoing_mail import mail_after_commit


def allowed(request: HttpRequest) -> tuple[bool, float | None]:
    """Whether this client may try to sign up now (PORTAL_SIGNUP_RATE per address), and else in how many seconds."""
    wait = wait_before("signup", settings.PORTAL_SIGNUP_RATE, client_address(request) or "")
    return wait is None, wait


def sign_up(email: str, password: str, account_name: str) -> None:
    """A new login and account, or, for an address that has one, a note to its owner; each by mail."""
    sign_in = settings.PORTAL_BASE_URL.rstrip("/") + reverse("login")
    if User.objects.filter(email__iexact=email).exists():
        make_password(password)  # the work a new account's hash costs, so the answer takes as long
        reset = settings.PORTAL_BASE_URL.rstrip("/") + reverse("password_reset")
        body = render_to_string("accounts/email/sign_up_existing.txt", {"sign_in": sign_in, "reset": reset})
        mail_after_commit(_("Someone tried to sign up with your address"), body, [email])
        return
    register_customer(email, password, account_name)
    body = render_to_string("accounts/email/sign_up_welcome.txt", {"sign_in": sign_in, "account_name": account_name})
    mail_after_commit(_("Welcome to the port 25 portal"), body, [email])
