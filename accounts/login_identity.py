"""Who a log-in attempt is for, as the lock-out counts it.

Log-in matches the e-mail address case-insensitively (User.objects.get_by_natural_key), so the
lock-out must count every spelling of one address as one identity, or `ADMIN@demo.test` would
get five fresh tries after `admin@demo.test` was locked.
"""

from django.http import HttpRequest


def login_identity(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the typed address, trimmed and in lower case."""
    source = credentials if credentials else getattr(request, "data", request.POST)
    typed = source.get("username") if source else None
    return typed.strip().lower() if isinstance(typed, str) else typed
