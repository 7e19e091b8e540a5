"""Sign-up that tells nobody which addresses have accounts, throttled per client address.

The page answers a known and an unknown address the same way, byte for byte ("check your mail");
the mail says the rest: a welcome with the sign-in link for a new account, a note to the owner
of an existing one (who may have forgotten it). Without this, sign-up answered "an account with
this email address exists already" to anyone, staff addresses included, as fast as they asked.
"""

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from accounts.services import register_customer
from common.client_address import client_address
from common.outgoing_mail import mail_after_commit


class SignUpThrottle(SimpleRateThrottle):
    """PORTAL_SIGNUP_RATE sign-up attempts per client address (DRF's rate format and cache history)."""

    scope = "signup"

    def get_rate(self) -> str:
        return settings.PORTAL_SIGNUP_RATE

    def get_cache_key(self, request: HttpRequest, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


def allowed(request: HttpRequest) -> tuple[bool, float | None]:
    """Whether this client may try to sign up now, and else in how many seconds."""
    throttle = SignUpThrottle()
    return throttle.allow_request(request, None), throttle.wait()


def sign_up(email: str, password: str, account_name: str) -> None:
    """A new login and account, or, for an address that has one, a note to its owner; each by mail."""
    sign_in = settings.PORTAL_BASE_URL.rstrip("/") + reverse("login")
    if User.objects.filter(email__iexact=email).exists():
        reset = settings.PORTAL_BASE_URL.rstrip("/") + reverse("password_reset")
        body = render_to_string("accounts/email/sign_up_existing.txt", {"sign_in": sign_in, "reset": reset})
        mail_after_commit(_("Someone tried to sign up with your address"), body, [email])
        return
    register_customer(email, password, account_name)
    body = render_to_string("accounts/email/sign_up_welcome.txt", {"sign_in": sign_in, "account_name": account_name})
    mail_after_commit(_("Welcome to the port 25 portal"), body, [email])
