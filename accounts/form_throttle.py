"""How often the public forms (sign-up, password reset) may be posted, per key, in the cache.

A key is a client's address or a typed e-mail address: DRF's rate format ("5/hour") and its
sliding-window history, so limits behave like the API's and share the cache (Redis in production).
"""

import hashlib

from rest_framework.throttling import SimpleRateThrottle


class FormThrottle(SimpleRateThrottle):
    """At most `rate` posts under `scope` for one key; each allowed post counts."""

    def __init__(self, scope: str, rate: str, key: str) -> None:
        self.scope, self.rate = scope, rate
        # A digest: the cache holds no typed e-mail address, and any key has a safe length.
        self.ident = hashlib.sha256(key.encode()).hexdigest()
        self.num_requests, self.duration = self.parse_rate(rate)

    def get_cache_key(self, request: object, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def wait_before(scope: str, rate: str, key: str) -> float | None:
    """None if a post under `scope` for `key` may go ahead now (it is counted), else seconds to wait."""
    throttle = FormThrottle(scope, rate, key)
    if throttle.allow_request(None, None):
        return None
    return throttle.wait() or throttle.duration
