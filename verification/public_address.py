"""The guard that keeps customer-named hosts from reaching the provider's own networks (SSRF).

A host is resolved first, and refused if any of its addresses is not public;
callers then connect to the returned IP, never to the name again, so a second
DNS answer cannot point them somewhere else.
"""

import ipaddress
import re
import socket

import dns.exception
import dns.resolver

# The rule itself lives in accounts, so that the platform API and the request form share it.
from accounts.public_ip import IPAddress, is_public_ip
from verification.dns_resolver import make_resolver
from verification.outcome import Deadline

# Legacy IPv4 spellings that the C library still accepts: 2130706433, 0x7f000001, 0177.1, 127.1.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class NonPublicAddress(ValueError):
    """The host is, or resolves to, an address that is not on the public Internet."""

    def __init__(self, host: str, address: IPAddress) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host = host
        self.address = address


class UnresolvableHost(ValueError):
    """The name does not exist or has no A/AAAA record."""


class ResolverUnavailable(RuntimeError):
    """The resolver did not answer: nothing can be concluded about the host."""


def ip_literal(host: str) -> IPAddress | None:
    """The address `host` spells directly, in any form a connect() would accept, else None."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def resolve(host: str, deadline: Deadline | None = None) -> list[IPAddress]:
    """A and AAAA addresses of `host` through the configured resolver, each lookup within the
    resolver's lifetime and what remains of `deadline`."""
    resolver = make_resolver()
    addresses: list[IPAddress] = []
    answered = False
    for rdtype in ("A", "AAAA"):
        try:
            lifetime = deadline.cap(resolver.lifetime) if deadline else resolver.lifetime
            answer = resolver.resolve(host, rdtype, lifetime=lifetime)
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            answered = True
            continue
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
            raise ResolverUnavailable(f"no DNS answer for {host}: {exc}") from exc
        answered = True
        addresses.extend(ipaddress.ip_address(r.address) for r in answer)
    if answered and not addresses:
        raise UnresolvableHost(f"{host} has no address")
    return addresses


def public_addresses(host: str, deadline: Deadline | None = None) -> list[IPAddress]:
    """Resolve `host` (a name or a literal) and return its addresses, all of them public.

    Raises NonPublicAddress, UnresolvableHost or ResolverUnavailable.
    """
    literal = ip_literal(host)
    addresses = [literal] if literal is not None else resolve(host, deadline)
    for address in addresses:
        if not is_public_ip(address):
            raise NonPublicAddress(host, address)
    return addresses
