"""An SPF evaluator (RFC 7208 check_host) on the portal's own resolver, counting DNS-querying terms.

Macros are not expanded: a mechanism that uses one is skipped and reported,
which can only make the result stricter, never a false pass.
"""

import ipaddress
from dataclasses import dataclass, field

import dns.exception
import dns.resolver

from verification.checks import reverse_dns

LOOKUP_LIMIT = 10
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


class SpfError(Exception):
    def __init__(self, result: str, reason: str) -> None:
        super().__init__(reason)
        self.result = result  # "permerror" or "temperror"


@dataclass
class SpfEvaluation:
    result: str  # pass, fail, softfail, neutral, none, permerror, temperror
    record: str = ""
    mechanism: str = ""
    lookups: int = 0
    all_qualifier: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", [])}


def txt_records(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except reverse_dns.DNS_FAILURES as exc:
        raise SpfError("temperror", f"no DNS answer for {name}") from exc
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


def spf_records(resolver: dns.resolver.Resolver, domain: str) -> list[str]:
    return [t for t in txt_records(resolver, domain) if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]


class _Evaluator:
    def __init__(self, resolver: dns.resolver.Resolver, ip: str) -> None:
        self.resolver = resolver
        self.ip = ipaddress.ip_address(ip)
        self.lookups = 0
        self.notes: list[str] = []

    def _count(self) -> None:
        self.lookups += 1
        if self.lookups > LOOKUP_LIMIT:
            raise SpfError("permerror", f"more than {LOOKUP_LIMIT} DNS-querying terms")

    def _addresses(self, name: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        rdtype = "A" if self.ip.version == 4 else "AAAA"
        try:
            return [ipaddress.ip_address(r.address) for r in self.resolver.resolve(name, rdtype)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except reverse_dns.DNS_FAILURES as exc:
            raise SpfError("temperror", f"no DNS answer for {name}") from exc

    def _in(self, addresses: list, cidr4: int, cidr6: int) -> bool:
        prefix = cidr4 if self.ip.version == 4 else cidr6
        return any(
            a.version == self.ip.version and self.ip in ipaddress.ip_network(f"{a}/{prefix}", strict=False)
            for a in addresses
        )

    def _mx_hosts(self, name: str) -> list[str]:
        try:
            answer = self.resolver.resolve(name, "MX")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except reverse_dns.DNS_FAILURES as exc:
            raise SpfError("temperror", f"no DNS answer for {name}") from exc
        return [r.exchange.to_text(omit_final_dot=True) for r in answer][:10]

    def check_host(self, domain: str, depth: int = 0) -> tuple[str, str, str]:
        """(result, matching term, record) for `domain`."""
        records = spf_records(self.resolver, domain)
        if not records:
            return "none", "", ""
        if len(records) > 1:
            raise SpfError("permerror", f"{domain} publishes {len(records)} SPF records")
        record = records[0]
        redirect = ""
        for term in record.split()[1:]:
            name, sep, value = term.partition("=")
            if sep and ":" not in name and "/" not in name:
                if name.lower() == "redirect":
                    redirect = value
                continue
            qualifier = QUALIFIERS.get(term[0], "")
            mechanism = term[1:] if qualifier else term
            if self._matches(mechanism, domain, depth):
                return qualifier or "pass", term, record
        if redirect:
            self._count()
            result, term, _record = self.check_host(redirect, depth + 1)
            return ("permerror" if result == "none" else result), term, record
        return "neutral", "", record

    def _matches(self, mechanism: str, domain: str, depth: int) -> bool:
        head, _, cidr = mechanism.partition("/")
        kind, _, arg = head.partition(":")
        kind = kind.lower()
        if "%" in arg:
            self.notes.append(f"macro not evaluated: {mechanism}")
            return False
        cidr4, _, cidr6 = ("", "", cidr[1:]) if cidr.startswith("/") else cidr.partition("//")
        try:
            cidr4_n, cidr6_n = int(cidr4 or 32), int(cidr6 or 128)
        except ValueError as exc:
            raise SpfError("permerror", f"invalid prefix length in {mechanism}") from exc
        target = arg or domain
        if kind == "all":
            return True
        if kind in ("ip4", "ip6"):
            try:
                network = ipaddress.ip_network(arg + (f"/{cidr}" if cidr else ""), strict=False)
            except ValueError as exc:
                raise SpfError("permerror", f"invalid network in {mechanism}") from exc
            return network.version == self.ip.version and self.ip in network
        if kind == "include":
            self._count()
            if depth > LOOKUP_LIMIT:
                raise SpfError("permerror", "include loop")
            result, _term, _record = self.check_host(arg, depth + 1)
            if result == "none":
                raise SpfError("permerror", f"included domain {arg} has no SPF record")
            return result == "pass"
        if kind == "a":
            self._count()
            return self._in(self._addresses(target), cidr4_n, cidr6_n)
        if kind == "mx":
            self._count()
            return any(self._in(self._addresses(host), cidr4_n, cidr6_n) for host in self._mx_hosts(target))
        if kind == "exists":
            self._count()
            try:
                return bool(self.resolver.resolve(arg, "A"))
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return False
            except reverse_dns.DNS_FAILURES as exc:
                raise SpfError("temperror", f"no DNS answer for {arg}") from exc
        if kind == "ptr":
            self._count()
            self.notes.append("uses the deprecated ptr mechanism")
            names = reverse_dns.ptr_names(self.ip.compressed, self.resolver)
            return any(n == target or n.endswith("." + target) for n in names)
        raise SpfError("permerror", f"unknown mechanism {mechanism}")


def evaluate(resolver: dns.resolver.Resolver, ip: str, domain: str) -> SpfEvaluation:
    """SPF's verdict for mail from `domain` sent by `ip`, with the record and how many look-ups it took."""
    evaluator = _Evaluator(resolver, ip)
    try:
        result, term, record = evaluator.check_host(domain)
    except SpfError as exc:
        evaluation = SpfEvaluation(exc.result, lookups=evaluator.lookups, notes=[*evaluator.notes, str(exc)])
        try:
            records = spf_records(resolver, domain)
        except SpfError:
            records = []
        evaluation.record = records[0] if records else ""
    except dns.exception.DNSException as exc:
        return SpfEvaluation("temperror", notes=[str(exc)])
    else:
        evaluation = SpfEvaluation(result, record, term, evaluator.lookups, notes=evaluator.notes)
    for term in evaluation.record.split()[1:]:
        if term.lower().lstrip("+-~?") == "all":
            evaluation.all_qualifier = term[0] if term[0] in QUALIFIERS else "+"
    return evaluation
