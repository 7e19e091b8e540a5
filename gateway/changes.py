"""A change as the portal sends it (docs/egress-http-api.md), checked whole before anything is applied."""

import ipaddress
import json
import re
from dataclasses import dataclass

_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces: a UUID or the like


class Refused(Exception):
    """The request is wrong and sending it again cannot help: a 4xx with `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class ChangeRequest:
    allow: list[str]  # canonical, sorted, without duplicates
    deny: list[str]


def idempotency_key(header: str | None) -> str:
    if not header:
        raise Refused(400, "Idempotency-Key header is required.")
    if not _KEY.fullmatch(header):
        raise Refused(400, "Idempotency-Key must be 1-200 printable ASCII characters without spaces.")
    return header


def parse_change(body: bytes, *, max_addresses: int) -> ChangeRequest:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "The body is not JSON.") from None
    if not isinstance(payload, dict):
        raise Refused(422, 'The body must be an object: {"allow": [...], "deny": [...]}.')
    unknown = sorted(set(payload) - {"allow", "deny"})
    if unknown:
        raise Refused(422, f"Unknown fields: {', '.join(unknown)[:200]}.")
    lists = {name: payload.get(name, []) for name in ("allow", "deny")}
    for name, value in lists.items():
        if not isinstance(value, list):
            raise Refused(422, f"{name} must be a list of addresses.")
    count = len(lists["allow"]) + len(lists["deny"])
    if count > max_addresses:
        raise Refused(413, f"Too many addresses in one change: {count}, at most {max_addresses}.")
    allow, deny = _addresses(lists["allow"], "allow"), _addresses(lists["deny"], "deny")
    both = allow & deny
    if both:
        raise Refused(422, f"An address is in both allow and deny: {sorted(both)[0]}.")
    return ChangeRequest(sorted(allow), sorted(deny))


def _addresses(values: list, name: str) -> set[str]:
    found = set()
    for value in values:
        if not isinstance(value, str) or "/" in value or len(value) > 45:
            raise Refused(422, f"{name}: not an address: {str(value)[:60]!r}.")
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise Refused(422, f"{name}: not an address: {value[:60]!r}.") from None
        if getattr(address, "scope_id", None):  # fe80::1%eth0 names an interface, not a source
            raise Refused(422, f"{name}: not an address: {value[:60]!r}.")
        found.add(str(address))  # canonical: as nft lists it, as the portal stores it
    return found
