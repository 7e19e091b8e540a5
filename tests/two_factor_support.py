"""Staff in tests sign in with a verified second factor, as the admin demands (portal.admin_site).

Tests sign people in with `Client.force_login`; for staff the `staff_pass_two_factor` fixture
(autouse, in conftest) makes that session verified by a TOTP device too, so every admin test
keeps testing what it tests. The two-factor tests themselves use `password_only_login`.
"""

import base64

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

_force_login = Client.force_login


def password_only_login(client: Client, user: User) -> Client:
    """A session that passed the password but not the second factor."""
    _force_login(client, user)
    return client


def force_login_verified(client: Client, user: User, backend: str | None = None) -> None:
    _force_login(client, user, backend)
    if user.is_staff:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="test app", confirmed=True
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


def totp_code(secret: str, at: float, steps_later: int = 0) -> str:
    """The code an authenticator app set up with this base32 key shows at `at` (seconds since the epoch)."""
    totp = TOTP(base64.b32decode(secret))
    totp.time = at + 30 * steps_later
    return f"{totp.token():06d}"
