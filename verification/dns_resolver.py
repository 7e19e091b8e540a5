"""The one DNS resolver every lookup of the portal goes through, configured by settings."""

import dns.nameserver
import dns.resolver
from django.conf import settings


def _nameserver(spec: str) -> dns.nameserver.Do53Nameserver:
    """`host` or `host:port`; an IPv6 host with a port is written `[::1]:5353`."""
    host, port = spec, 53
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif spec.count(":") == 1:
        host, port_text = spec.split(":")
        port = int(port_text)
    return dns.nameserver.Do53Nameserver(host, port)


def make_resolver() -> dns.resolver.Resolver:
    if settings.PORTAL_DNS_NAMESERVERS:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [_nameserver(spec) for spec in settings.PORTAL_DNS_NAMESERVERS]
    else:
        resolver = dns.resolver.Resolver()
    resolver.lifetime = settings.PORTAL_DNS_TIMEOUT
    resolver.timeout = settings.PORTAL_DNS_TIMEOUT
    return resolver
