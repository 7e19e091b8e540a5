"""Reverse DNS: receivers distrust a sender whose PTR is missing, unconfirmed or looks dynamic."""

import ipaddress
import re

import dns.exception
import dns.resolver
import dns.reversename
from django.utils.translation import gettext as _

from verification.dns_resolver import make_resolver
from verification.outcome import CheckSubject, Deadline, Outcome, Verdict

# Words that access and pool networks put in their generated names.
_GENERIC_WORDS = re.compile(
    r"(^|[.-])(dyn|dynamic|dhcp|dsl|adsl|vdsl|cable|pool|ppp|pppoe|dial|dialup|client|cust|customer|"
    r"broadband|residential|unassigned|unknown|static|host|ip|nat)[0-9-]*([.-]|$)"
)

DNS_FAILURES = (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout)


def resolver_for(deadline: Deadline | None) -> dns.resolver.Resolver:
    """The configured resolver, made to give up when the check's time is up."""
    resolver = make_resolver()
    if deadline is not None:
        resolver.lifetime = deadline.cap(resolver.lifetime)
    return resolver


def ptr_names(ip: str, resolver: dns.resolver.Resolver) -> list[str]:
    """PTR names of `ip` (lower case, no trailing dot); empty when there are none."""
    try:
        answer = resolver.resolve(dns.reversename.from_address(ip), "PTR")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return sorted({r.target.to_text(omit_final_dot=True).lower() for r in answer})


def forward_addresses(name: str, resolver: dns.resolver.Resolver) -> set[str]:
    addresses: set[str] = set()
    for rdtype in ("A", "AAAA"):
        try:
            addresses.update(ipaddress.ip_address(r.address).compressed for r in resolver.resolve(name, rdtype))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
    return addresses


def looks_generic(name: str, ip: str) -> bool:
    """True for names like 198-51-100-7.pool.example.net that a provider generated, not the customer."""
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        octets = ip.split(".")
        if any(sep.join(order) in name for sep in ("-", ".", "_") for order in (octets, octets[::-1])):
            return True
        if f"{int(address):08x}" in name or f"{int(address):x}" in name:
            return True
    return bool(_GENERIC_WORDS.search(name.split(".", 1)[0] + "."))


def check(subject: CheckSubject, deadline: Deadline) -> Outcome:
    ip = ipaddress.ip_address(subject.mail_server_ip).compressed
    resolver = resolver_for(deadline)
    try:
        names = ptr_names(ip, resolver)
        confirmed = [name for name in names if ip in forward_addresses(name, resolver)]
    except DNS_FAILURES as exc:
        return Outcome(
            Verdict.ERROR,
            _("We could not look up the reverse DNS of %(ip)s (the DNS servers did not answer).") % {"ip": ip},
            {"ip": ip, "error": str(exc)},
        )
    evidence = {"ip": ip, "ptr": names, "forward_confirmed": confirmed, "declared": subject.mail_server_hostname}
    if not names:
        return Outcome(
            Verdict.FAIL,
            _(
                "%(ip)s has no reverse DNS (PTR) record. Set one to your mail server's name "
                "(%(name)s) in the control panel, then re-run the checks."
            )
            % {"ip": ip, "name": subject.mail_server_hostname},
            evidence,
        )
    if not confirmed:
        return Outcome(
            Verdict.FAIL,
            _(
                "The reverse DNS name %(name)s does not point back to %(ip)s. "
                "Add an A/AAAA record %(name)s → %(ip)s, then re-run the checks."
            )
            % {"ip": ip, "name": names[0]},
            evidence,
        )
    name = confirmed[0]
    evidence["generic"] = looks_generic(name, ip)
    if evidence["generic"]:
        return Outcome(
            Verdict.WARN,
            _(
                "The reverse DNS name %(name)s looks like a generated or dynamic name; "
                "receivers often reject such senders. Set a name of your own domain, e.g. %(declared)s."
            )
            % {"name": name, "declared": subject.mail_server_hostname},
            evidence,
        )
    if subject.mail_server_hostname and subject.mail_server_hostname.lower() not in confirmed:
        return Outcome(
            Verdict.WARN,
            _("The reverse DNS of %(ip)s is %(name)s, not the mail server name you gave (%(declared)s).")
            % {"ip": ip, "name": name, "declared": subject.mail_server_hostname},
            evidence,
        )
    return Outcome(
        Verdict.PASS, _("Reverse DNS of %(ip)s is %(name)s and points back to it.") % {"ip": ip, "name": name}, evidence
    )
