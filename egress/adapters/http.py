"""The `http` backend: a provider's network API, JSON over HTTP(S) (docs/egress-http-api.md).

Each call is one attempt under a timeout. A failure is reported, never retried here: the outbox
retries the change later with backoff and the same Idempotency-Key, so nothing sleeps while the
target's row is locked, and a change the API took but whose answer was lost is not applied twice.
A 4xx answer is final.

Connections are kept alive per worker process, CA file and timeout (a TLS handshake costs about as
much as a gateway's whole apply); a CA file that changes gets a new client at the next call.
"""

import ipaddress
import os
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from django.core.exceptions import ValidationError
from django.utils.ipv6 import clean_ipv6_address
from django.utils.translation import gettext as _

from egress.adapters import Change, Counters, EgressError


class HttpAdapter:
    def __init__(
        self,
        *,
        name: str,
        url: str,
        token: str = "",
        token_file: str = "",
        timeout: float = 10.0,
        ca_file: str = "",
    ) -> None:
        parts = httpx.URL(url) if url.startswith(("http://", "https://")) else None
        if parts is None or not parts.host:
            raise ValueError(_("The API URL must be http:// or https:// with a host: %(url)r") % {"url": url})
        self.target = name
        self.base = url.rstrip("/")
        if token and token_file:
            raise ValueError(_("Give the API token or a token_file, not both."))
        self.headers = {"Accept": "application/json"}
        self.token, self.token_file = token, token_file
        self.timeout = float(timeout)
        self.ca_file = ca_file

    def allowed(self) -> set[str]:
        payload = self._request("GET", "/allowed")
        addresses = payload.get("addresses") if isinstance(payload, dict) else None
        try:
            return {canonical(ip) for ip in addresses}
        except (TypeError, ValueError, ValidationError):
            raise EgressError(_("The API's list of allowed addresses is malformed.")) from None

    def start_reading(self) -> Callable[[], set[str]]:
        return self.allowed

    def apply(self, change: Change) -> None:
        body = {"allow": sorted(change.allow), "deny": sorted(change.deny)}
        self._request("POST", "/changes", body=body, key=change.key)

    def counters(self) -> Counters:
        payload = self._request("GET", "/counters")
        try:
            return Counters(
                connections=_counts(payload.get("connections", {})),
                blocked=_counts(payload.get("blocked", {})),
                over_rate=frozenset(canonical(ip) for ip in payload.get("over_rate", [])),
            )
        except (AttributeError, TypeError, ValueError, ValidationError):
            raise EgressError(_("The API's traffic counters are malformed.")) from None

    def _request(self, method: str, path: str, *, body: dict | None = None, key: str = "") -> dict:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        try:
            # A token file is read at each call, as the CA is: a replaced secret takes effect at once.
            if token := self.token or (Path(self.token_file).read_text().strip() if self.token_file else ""):
                headers["Authorization"] = f"Bearer {token}"
            response = _client(self.ca_file, self.timeout).request(method, self.base + path, json=body, headers=headers)
        except (httpx.HTTPError, OSError) as exc:  # timeouts, refused and reset connections, broken answers, CA
            detail = str(exc) or type(exc).__name__
            raise EgressError(
                _("%(method)s %(path)s failed: %(error)s") % {"method": method, "path": path, "error": detail}
            ) from exc
        if response.status_code >= 300:
            message = _("%(method)s %(path)s answered %(status)d: %(body)s") % {
                "method": method,
                "path": path,
                "status": response.status_code,
                "body": response.content[:500].decode(errors="replace"),
            }
            raise EgressError(message, permanent=response.status_code < 500)
        if not response.content.strip():
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise EgressError(_("The API answered with something that is not JSON.")) from exc


def canonical(ip: str) -> str:
    """The form Django stores, so that an API writing addresses differently shows no false drift."""
    return clean_ipv6_address(ip) if ":" in ip else str(ipaddress.IPv4Address(ip))


def _counts(counts: dict) -> dict[str, int]:
    checked = {canonical(ip): int(value) for ip, value in counts.items()}
    if any(value < 0 for value in checked.values()):
        raise ValueError("negative counter")
    return checked


_clients: dict[tuple, httpx.Client] = {}
_clients_lock = threading.Lock()


def _client(ca_file: str, timeout: float) -> httpx.Client:
    """A client kept for this process: its pooled connections serve every target that shares the
    CA and timeout. The CA file is looked at on each call, so a replaced or broken one shows at once."""
    seen = os.stat(ca_file) if ca_file else None
    key = (os.getpid(), ca_file, seen and (seen.st_mtime_ns, seen.st_size, seen.st_ino), timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            verify = ssl.create_default_context(cafile=ca_file) if ca_file else True
            client = _clients[key] = httpx.Client(timeout=timeout, verify=verify)
        return client
