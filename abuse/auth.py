"""Reporters authenticate with their own tokens (issued in the admin, stored as digests)."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling
from rest_framework.request import Request

from abuse.models import ReporterToken
from accounts.token_auth import HashedTokenAuthentication


class ReporterTokenAuthentication(HashedTokenAuthentication):
    keyword = "Bearer"
    model = ReporterToken
    owner = "reporter"

    def principal(self, token: ReporterToken) -> AnonymousUser:
        if not token.reporter.active:
            raise exceptions.AuthenticationFailed(_("This reporter is inactive."))
        return AnonymousUser()


class IsReporter(permissions.BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, ReporterToken)


class ReporterRateThrottle(throttling.SimpleRateThrottle):
    """Per reporter, not per address: feedback loops send from many hosts, in bursts.

    A counter per fixed window, not DRF's list of the time of every request in the window: at a
    reporter's rate (tens of thousands an hour) each request would read and write back that list.
    """

    scope = "abuse_reporter"

    def get_rate(self) -> str:
        return settings.PORTAL_ABUSE_API_RATE

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if not isinstance(request.auth, ReporterToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.reporter_id}

    def allow_request(self, request: Request, view: object) -> bool:
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        return self._count(f"{key}:{window}") <= self.num_requests

    def _count(self, key: str) -> int:
        """Add one to this window's counter and return it; 0 while the cache is unreachable (fail open).

        One round trip for all but a window's first request: the counter is incremented, and created
        (with the window's expiry) only when there is none yet.
        """
        try:
            return self.cache.incr(key) or 0  # None: django-redis ignored (and logged) a Redis error
        except ValueError:  # the window's first request (or another created the counter just now)
            pass
        if self.cache.add(key, 1, self.duration):
            return 1
        try:
            return self.cache.incr(key) or 0
        except ValueError:  # the key expired since: its window is over
            return 0

    def wait(self) -> float:
        return self.window_ends - self.now


class ReporterTokenScheme(OpenApiAuthenticationExtension):
    """Describes the reporters' bearer token in the OpenAPI schema."""

    target_class = ReporterTokenAuthentication
    name = "reporterToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {"type": "http", "scheme": "bearer"}
