"""Two-factor sign-in for staff: a TOTP app and single-use recovery codes (django-otp devices).

A stolen password must not be enough to open port 25 for a spammer: the admin site lets staff in
only once one of these devices verified a code in the session (portal.admin_site). Nor may a
password alone enrol a device: a superuser issues an enrolment link (signed, for one device,
valid for PORTAL_TWO_FACTOR_ENROLMENT_HOURS), handed to the person by another channel.
Wrong codes are throttled per client, not on the device: the person is never locked out by
someone else's wrong codes (accounts.code_throttle).
"""

import base64
import io
import re
from dataclasses import dataclass

import segno
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import code_throttle
from accounts.models import User

RECOVERY_CODES = 10
APP_DEVICE_NAME = "authenticator app"
RECOVERY_DEVICE_NAME = "recovery codes"
_TOTP_CODE = re.compile(r"^\d{6}$")
_ENROLMENT_SALT = "accounts.two_factor.enrolment"
ENROLMENT_PARAMETER = "enrolment"


class CodeRefused(Exception):
    """The code is wrong, or the device refuses codes for now; the message says which, for the person."""


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, what an app asks for when the QR code cannot be scanned
    qr_svg: str


def app_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, if enrolled."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def is_enrolled(user: User) -> bool:
    """A confirmed device of any kind: the app, or recovery codes alone (as seeded for a test harness)."""
    return any(True for _ in devices_for_user(user, confirmed=True))


def secret_of(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()


def issue_enrolment(user: User) -> str:
    """A new enrolment for `user` (any earlier one stops working): the token of their enrolment link."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return signing.TimestampSigner(salt=_ENROLMENT_SALT).sign(f"{user.pk}:{device.pk}")


def enrolment_url(token: str) -> str:
    """The link a superuser hands to the person; it leads through the password step to the QR code."""
    return f"{settings.PORTAL_BASE_URL}{reverse('admin:two_factor')}?{urlencode({ENROLMENT_PARAMETER: token})}"


def issued_device(user: User, token: str) -> TOTPDevice | None:
    """The unconfirmed device `token` was issued for, if it is this user's, still open and not expired."""
    max_age = settings.PORTAL_TWO_FACTOR_ENROLMENT_HOURS * 3600
    try:
        user_pk, device_pk = signing.TimestampSigner(salt=_ENROLMENT_SALT).unsign(token, max_age=max_age).split(":")
    except (signing.BadSignature, ValueError):
        return None
    if user_pk != str(user.pk):
        return None
    return TOTPDevice.objects.filter(user=user, pk=device_pk, confirmed=False).first()


def start_enrolment(device: TOTPDevice) -> Enrolment:
    """The issued device the user is setting up, with its QR code."""
    svg = io.BytesIO()
    segno.make(device.config_url, error="m").save(svg, kind="svg", scale=4, border=2, xmldecl=False, svgns=True)
    return Enrolment(device=device, secret=secret_of(device), qr_svg=svg.getvalue().decode())


def confirm_enrolment(user: User, token: str, code: str, client: str) -> list[str]:
    """The first right code from the app confirms the issued device; the user gets fresh recovery codes."""
    with transaction.atomic():
        issued = issued_device(user, token)
        device = TOTPDevice.objects.select_for_update().filter(pk=issued.pk).first() if issued else None
        refusal = _attempt(device, code, client) if device else _("This enrolment link has expired or was replaced.")
        if refusal is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            return new_recovery_codes(user)
    raise CodeRefused(refusal)


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with new ones; each works once."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def verify(user: User, code: str, client: str) -> TOTPDevice | StaticDevice:
    """The device that accepts the code: six digits go to the app, anything else is a recovery code.

    `client` is the address the code came from (common.client_address): wrong codes hold off that client.
    """
    code = "".join(code.split()).lower()
    model = TOTPDevice if _TOTP_CODE.match(code) else StaticDevice
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        refusal = _attempt(device, code, client) if device else _("That code is not right.")
    if refusal is not None:
        raise CodeRefused(refusal)
    return device


def _attempt(device: TOTPDevice | StaticDevice, code: str, client: str) -> str | None:
    """None when the device accepts the code, else why not. A wrong code holds off this client."""
    wait = code_throttle.wait_before_code(device.user, client)
    if wait is not None:
        return _("Too many wrong codes. Wait %(seconds)d seconds, then try again.") % {"seconds": max(wait, 1)}
    if not device.verify_token(code):
        code_throttle.code_refused(device.user, client)
        return _("That code is not right. Codes change every 30 seconds; use the newest one.")
    code_throttle.code_accepted(device.user, client)
    return None


def enrol_with_secret(user: User, secret: str) -> TOTPDevice:
    """A confirmed app device with a known base32 key: for demo data, whose key is published."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice(user=user, confirmed=True)
    device.name, device.key = APP_DEVICE_NAME, key
    device.save()
    return device


def reset(user: User) -> int:
    """Forget every device of the user (a lost phone); they enrol again through an issued link."""
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        devices = model.objects.filter(user=user)
        removed += devices.count()
        devices.delete()
    return removed
