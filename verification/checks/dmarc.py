"""DMARC (RFC 7489): the policy record of a domain or of its organisational domain, and its tags checked.

The organisational domain comes from the Public Suffix List that the `publicsuffixlist`
package ships (nothing is downloaded at run time): `shop.example.co.uk` -> `example.co.uk`.
"""

import re
from dataclasses import dataclass, field
from functools import cache

import dns.resolver
from publicsuffixlist import PublicSuffixList

from verification.checks.spf import txt_records

POLICIES = ("none", "quarantine", "reject")
_URI_LIST = re.compile(r"^\s*[a-z][a-z0-9+.-]*:[^,\s]+(\s*,\s*[a-z][a-z0-9+.-]*:[^,\s]+)*\s*$", re.IGNORECASE)
# RFC 7489 section 6.3: each tag's valid values.
TAG_RULES = {
    "v": lambda v: v == "DMARC1",
    "p": lambda v: v.lower() in POLICIES,
    "sp": lambda v: v.lower() in POLICIES,
    "adkim": lambda v: v.lower() in ("r", "s"),
    "aspf": lambda v: v.lower() in ("r", "s"),
    "pct": lambda v: v.isdigit() and 0 <= int(v) <= 100,
    "ri": lambda v: v.isdigit(),
    "fo": lambda v: all(part.strip() in ("0", "1", "d", "s") for part in v.split(":")),
    "rf": lambda v: all(part.strip().lower() in ("afrf", "iodef") for part in v.split(":")),
    "rua": lambda v: bool(_URI_LIST.match(v)),
    "ruf": lambda v: bool(_URI_LIST.match(v)),
}


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """The registrable domain under its public suffix (the domain itself when the list knows no better)."""
    return _suffixes().privatesuffix(domain) or domain


@dataclass
class DmarcPolicy:
    domain: str
    organizational_domain: str
    found_at: str = ""
    record: str = ""
    records: list[str] = field(default_factory=list)
    policy: str = ""
    subdomain_policy: str = ""
    pct: int = 100
    adkim: str = "r"
    aspf: str = "r"
    errors: list[str] = field(default_factory=list)
    unknown_tags: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.record) and not self.errors

    @property
    def applied_policy(self) -> str:
        """The policy receivers apply to mail from `domain`: sp= for a subdomain that inherits it."""
        if self.found_at != self.domain and self.subdomain_policy:
            return self.subdomain_policy
        return self.policy

    def as_dict(self) -> dict:
        return {
            "record": self.record,
            "found_at": self.found_at,
            "organizational_domain": self.organizational_domain,
            "policy": self.applied_policy,
            "p": self.policy,
            "sp": self.subdomain_policy or self.policy,
            "pct": self.pct,
            "alignment": {"dkim": "strict" if self.adkim == "s" else "relaxed",
                          "spf": "strict" if self.aspf == "s" else "relaxed"},
            "errors": self.errors,
            "unknown_tags": self.unknown_tags,
            "records": self.records,
        }  # fmt: skip


def parse(policy: DmarcPolicy, record: str) -> None:
    """Fill `policy` from `record`, collecting what RFC 7489 says is wrong with it."""
    policy.record = record
    tags: dict[str, str] = {}
    for index, part in enumerate(p for p in record.split(";") if p.strip()):
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep:
            policy.errors.append(f"“{part.strip()}” is not a tag=value pair")
        elif index == 0 and name != "v":
            policy.errors.append("the record must start with v=DMARC1")
        elif name in tags:
            policy.errors.append(f"the tag {name} appears twice")
        elif name not in TAG_RULES:
            policy.unknown_tags.append(name)  # receivers ignore unknown tags (section 6.3)
        elif not TAG_RULES[name](value):
            policy.errors.append(f"{name}={value} is not a valid value")
        tags.setdefault(name, value)
    if "p" not in tags:
        policy.errors.append("the required p= tag is missing")
    policy.policy = tags.get("p", "").lower() if "p" in tags and TAG_RULES["p"](tags["p"]) else ""
    policy.subdomain_policy = tags.get("sp", "").lower() if TAG_RULES["sp"](tags.get("sp", "")) else ""
    policy.pct = int(tags["pct"]) if TAG_RULES["pct"](tags.get("pct", "")) else 100
    policy.adkim = tags.get("adkim", "r").lower()
    policy.aspf = tags.get("aspf", "r").lower()


def lookup(resolver: dns.resolver.Resolver, domain: str) -> DmarcPolicy:
    """The DMARC policy for mail from `domain` (section 6.6.3). Raises SpfError when DNS does not answer."""
    policy = DmarcPolicy(domain, organizational_domain(domain))
    candidates = [domain] if policy.organizational_domain == domain else [domain, policy.organizational_domain]
    for name in candidates:
        texts = txt_records(resolver, f"_dmarc.{name}")
        records = [r for r in texts if r.replace(" ", "").lower().startswith("v=dmarc1")]
        # Not a DMARC record for receivers, but clearly meant as one: say what is wrong with it.
        records = records or [r for r in texts if "v=dmarc1" in r.replace(" ", "").lower()]
        if records:
            policy.found_at, policy.records = name, records
            parse(policy, records[0])
            if len(records) > 1:
                policy.errors.append(f"_dmarc.{name} publishes {len(records)} DMARC records; receivers ignore them all")
            return policy
    return policy
