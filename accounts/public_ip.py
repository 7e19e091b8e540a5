"""What a public Internet address is: the one rule the platform API, the request form and the checks share.

An address the checks would refuse is never registered as a server's address nor offered to a
customer. Operators (and the tests) may allow non-public networks with PORTAL_CHECK_ALLOW_NETWORKS.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
# Not routed on the Internet, though Python's ipaddress calls it global: local-use IPv4/IPv6 translation.
LOCAL_TRANSLATION = ipaddress.IPv6Network("64:ff9b:1::/48")


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


def is_public_ip(ip: IPAddress | str) -> bool:
    """True when `ip` (and any IPv4 address embedded in it) is globally routable unicast, or allowed."""
    ip = ipaddress.ip_address(ip)
    if any(ip in net for net in allowed_networks() if net.version == ip.version):
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if (embedded is not None and not is_public_ip(embedded)) or ip in LOCAL_TRANSLATION:
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)
