"""The address of the client that sent a request, the same for log-in lock-out and sign-up throttling.

Behind the reverse proxy (PORTAL_BEHIND_PROXY) every connection comes from the proxy, so
REMOTE_ADDR names the proxy; the proxy appends the client's address to X-Forwarded-For. Only
that last entry is trusted: whatever comes before it was written by the client.
"""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_PROXY:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    return forwarded[-1] or remote
