"""SPF by RFC 7208 with pyspf (the reference Python check_host), resolving through the portal's resolver.

pyspf resolves through one module-level function, `spf.DNSLookup`. It is replaced once, here,
by one that asks the resolver of the evaluation running in the current thread (a context
variable: checks run concurrently, each with its own deadline); outside an evaluation it uses
the portal's configured resolver.
"""

import contextvars
from dataclasses import dataclass, field

import dns.exception
import dns.resolver
import spf as pyspf

from verification.checks import reverse_dns
from verification.dns_resolver import make_resolver

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
# pyspf's reasons for a permerror, in the customer's words (matched by their start).
_REASONS = {
    "Too many DNS lookups": "more than 10 terms that query DNS (include, a, mx, ptr, exists, redirect); "
    "replace some with ip4:/ip6: ranges",
    "More than 40 DNS lookups": "more than 10 terms that query DNS (include, a, mx, ptr, exists, redirect); "
    "replace some with ip4:/ip6: ranges",
    "Void lookup limit": "more than 2 of its DNS look-ups found nothing; remove the names that do not exist",
    "Two or more type TXT spf records": "the domain publishes more than one SPF record; merge them into one",
    "Unknown mechanism": "it uses a mechanism SPF does not know",
    "No valid SPF record for included domain": "an included domain has no SPF record",
}
_resolver: contextvars.ContextVar[dns.resolver.Resolver | None] = contextvars.ContextVar("spf_resolver", default=None)


class SpfError(Exception):
    """DNS gave no answer while reading a record (shown as temperror)."""

    def __init__(self, result: str, reason: str) -> None:
        super().__init__(reason)
        self.result = result


def _lookup(name: str, qtype: str, strict: bool = True, timeout: float = 20) -> list:
    """pyspf's DNSLookup contract: [((name, qtype), value)], [] for no data, TempError when DNS fails."""
    resolver = _resolver.get() or make_resolver()
    try:
        answer = resolver.resolve(name, qtype, search=False, lifetime=min(timeout, resolver.lifetime))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, OSError) as exc:
        raise pyspf.TempError(f"DNS {exc}") from exc
    values = []
    for rdata in answer:
        if qtype in ("A", "AAAA"):
            values.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            values.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            values.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            values.append(((name, qtype), rdata.strings))
    return values


pyspf.DNSLookup = _lookup


@dataclass
class SpfEvaluation:
    result: str  # pass, fail, softfail, neutral, none, permerror, temperror
    record: str = ""
    mechanism: str = ""
    lookups: int = 0
    void_lookups: int = 0
    all_qualifier: str = ""
    explanation: str = ""
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


def _in_words(explanation: str) -> str:
    reason = explanation.removeprefix("SPF Permanent Error: ").removeprefix("SPF Temporary Error: ")
    return next((words for start, words in _REASONS.items() if reason.startswith(start)), reason)


def evaluate(
    resolver: dns.resolver.Resolver, ip: str, domain: str, *, seconds: float = 20.0, record: str | None = None
) -> SpfEvaluation:
    """check_host(ip, domain, postmaster@domain) within `seconds` in all (RFC 7208 section 4.6.4 suggests 20):
    the verdict, the record and the DNS look-ups it took. `record` evaluates a record before it is published."""
    token = _resolver.set(resolver)
    try:
        query = pyspf.query(i=ip, s=f"postmaster@{domain}", h=domain, querytime=max(seconds, 0.1))
        result, _code, explanation = query.check(spf=record)
        try:
            records = [record] if record else spf_records(resolver, domain)
        except SpfError:
            records = []
    finally:
        _resolver.reset(token)
    evaluation = SpfEvaluation(
        result,
        record=records[0] if records else "",
        mechanism=query.mechanism or "",
        lookups=query.lookups,
        void_lookups=query.void_lookups,
    )
    if result in ("permerror", "temperror"):
        evaluation.notes.append(_in_words(explanation))
    elif result == "fail":
        evaluation.explanation = explanation
    for term in evaluation.record.split()[1:]:
        if term.lower().lstrip("+-~?") == "all":
            evaluation.all_qualifier = term[0] if term[0] in QUALIFIERS else "+"
    return evaluation
