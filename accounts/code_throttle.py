"""How often second-factor codes may be tried: per person and client, and per person from all clients.

django-otp throttled the device itself: after n wrong codes it refused every code, the right one
too, for 2^(n-1) s. Whoever held a staff password could keep that person out by typing wrong
codes. Here the client that typed them waits 2^(n-1) s (n: its own wrong codes for that person),
while the person signs in from their own client; and all clients together have
PORTAL_TWO_FACTOR_CODE_RATE tries per person, so that many clients cannot guess the six digits
either. The most an attacker with that many clients can do is hold the person off until the
window ends, never for days. Counts live in the cache (Redis in production), like the API's.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from accounts.form_throttle import wait_before
from accounts.models import User

# A client's wrong codes are forgotten a day after its last one; its wait stops growing at 2^16 s.
FAILURES_KEPT = 24 * 3600
LONGEST_WAIT_EXPONENT = 16


def _client_key(user: User, client: str) -> str:
    return "two-factor-client:" + hashlib.sha256(f"{user.pk}:{client}".encode()).hexdigest()


def wait_before_code(user: User, client: str) -> int | None:
    """None if this client may try a code for `user` now (the try is counted), else seconds to wait."""
    failures, last = cache.get(_client_key(user, client), (0, 0.0))
    if failures:
        wait = 2 ** min(failures - 1, LONGEST_WAIT_EXPONENT) - (time.time() - last)
        if wait > 0:
            return math.ceil(wait)
    wait = wait_before("two_factor_user", settings.PORTAL_TWO_FACTOR_CODE_RATE, str(user.pk))
    return None if wait is None else math.ceil(wait)


def code_refused(user: User, client: str) -> None:
    key = _client_key(user, client)
    failures, _last = cache.get(key, (0, 0.0))
    cache.set(key, (failures + 1, time.time()), timeout=FAILURES_KEPT)


def code_accepted(user: User, client: str) -> None:
    cache.delete(_client_key(user, client))
