"""The guard that keeps customer-named hosts from reaching the provider's own networks (SSRF).

A host is resolved first, and refused if any of its addresses is not public;
callers then connect to the returned IP, never to the name again, so a second
DNS answer cannot point them somewhere else.
"""

import ipaddress
import re
import socket
from functools import lru_cache

import dns.exception
import dns.resolver
from django.conf import settings

from verification.dns_resolver import make_resolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
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


@lru_cache(maxsize=8)
def _allowed(spec: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in spec if cidr.strip())


def allowed_networks() -> tuple[IPNetwork, ...]:
    """Non-public networks an operator (or a test) has explicitly allowed."""
    return _allowed(tuple(settings.PORTAL_CHECK_ALLOW_NETWORKS))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (deprecated, still routable by some stacks)
        return ipaddress.IPv4Address(int(ip))
    return None


def is_public_ip(ip: IPAddress) -> bool:
    """True when `ip` (and any IPv4 address embedded in it) is globally routable unicast."""
    if any(ip in net for net in allowed_networks() if net.version == ip.version):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public_ip(embedded):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


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


def resolve(host: str) -> list[IPAddress]:
    """A and AAAA addresses of `host` through the configured resolver."""
    resolver = make_resolver()
    addresses: list[IPAddress] = []
    answered = False
    for rdtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(host, rdtype)
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


def public_addresses(host: str) -> list[IPAddress]:
    """Resolve `host` (a name or a literal) and return its addresses, all of them public.

    Raises NonPublicAddress, UnresolvableHost or ResolverUnavailable.
    """
    literal = ip_literal(host)
    addresses = [literal] if literal is not None else resolve(host)
    for address in addresses:
        if not is_public_ip(address):
            raise NonPublicAddress(host, address)
    return addresses
