"""The `http` backend: a provider's network API, JSON over HTTP(S) (docs/egress-http-api.md).

Timeouts and 5xx answers are retried at once with a short backoff, with the same
Idempotency-Key, so a change the API took but whose answer was lost is not applied twice;
a 4xx answer is final.
"""

import http.client
import ipaddress
import json
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.ipv6 import clean_ipv6_address
from django.utils.translation import gettext as _

from egress.adapters import Change, EgressError


class HttpAdapter:
    def __init__(
        self,
        *,
        name: str,
        url: str,
        token: str = "",
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        ca_file: str = "",
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(_("The API URL must be http:// or https:// with a host: %(url)r") % {"url": url})
        self.target = name
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.base = parts.path.rstrip("/")
        self.token, self.timeout, self.retries, self.backoff = token, float(timeout), int(retries), float(backoff)
        self.tls = ssl.create_default_context(cafile=ca_file or None) if parts.scheme == "https" else None

    def allowed(self) -> set[str]:
        payload = self._request("GET", "/allowed")
        addresses = payload.get("addresses") if isinstance(payload, dict) else None
        try:
            return {_canonical(ip) for ip in addresses}
        except (TypeError, ValueError, ValidationError):
            raise EgressError(_("The API's list of allowed addresses is malformed.")) from None

    def start_reading(self) -> Callable[[], set[str]]:
        return self.allowed

    def apply(self, change: Change) -> None:
        body = {"allow": sorted(change.allow), "deny": sorted(change.deny)}
        self._request("POST", "/changes", body=body, key=change.key)

    def _request(self, method: str, path: str, *, body: dict | None = None, key: str = "") -> dict:
        error = EgressError("")
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                status, data = self._once(method, path, body, key)
            except (OSError, http.client.HTTPException) as exc:  # timeouts, refused and reset connections
                detail = str(exc) or type(exc).__name__
                error = EgressError(
                    _("%(method)s %(path)s failed: %(error)s") % {"method": method, "path": path, "error": detail}
                )
                continue
            if status < 300:
                return _json(data)
            message = _("%(method)s %(path)s answered %(status)d: %(body)s") % {
                "method": method,
                "path": path,
                "status": status,
                "body": data[:500].decode(errors="replace"),
            }
            if status < 500:
                raise EgressError(message, permanent=True)
            error = EgressError(message)
        raise error

    def _once(self, method: str, path: str, body: dict | None, key: str) -> tuple[int, bytes]:
        if self.tls is not None:
            connection = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.tls)
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        encoded = None
        if body is not None:
            encoded = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, self.base + path, body=encoded, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def _canonical(ip: str) -> str:
    """The form Django stores, so that an API writing addresses differently shows no false drift."""
    return clean_ipv6_address(ip) if ":" in ip else str(ipaddress.IPv4Address(ip))


def _json(data: bytes) -> dict:
    if not data.strip():
        return {}
    try:
        return json.loads(data)
    except ValueError as exc:
        raise EgressError(_("The API answered with something that is not JSON.")) from exc
