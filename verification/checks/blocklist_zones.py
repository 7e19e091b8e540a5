"""The blocklists (DNSBL/URIBL) the checks consult, and what each one's answers mean.

Lists answer with addresses in 127.0.0.0/8, each with its own vocabulary; some
answers are errors about the query itself (Spamhaus 127.255.255.x, URIBL
127.0.0.1) and must never be read as a listing.
"""

import ipaddress
from dataclasses import dataclass, replace

from django.conf import settings

LISTED, POLICY, ERROR = "listed", "policy", "error"

IP, DOMAIN = "ip", "domain"
SPAMHAUS_LOOKUP = "https://check.spamhaus.org/"


@dataclass(frozen=True)
class Zone:
    name: str
    kind: str  # IP or DOMAIN
    family: str = "generic"
    ipv6: bool = True
    # RFC 5782 test points: a name that must be listed and one that must not.
    listed_test: str = ""
    unlisted_test: str = ""
    # Where the list's operator explains a listing and takes removal requests.
    delist_url: str = ""
    # The access key the operator requires (Spamhaus DQS): queries are <name>.<key>.<zone>.
    key: str = ""

    def test_points(self, ip_version: int = 4) -> tuple[str, str]:
        """(must be listed, must not be listed) for this zone and, for IP lists, the address family."""
        if self.kind == DOMAIN:
            return self.listed_test or "test", self.unlisted_test or "invalid"
        if ip_version == 6:
            return "::ffff:7f00:2", "::ffff:7f00:1"
        return self.listed_test or "127.0.0.2", self.unlisted_test or "127.0.0.1"


KNOWN_ZONES = {
    zone.name: zone
    for zone in (
        Zone("zen.spamhaus.org", IP, "spamhaus", delist_url=SPAMHAUS_LOOKUP),
        Zone("sbl.spamhaus.org", IP, "spamhaus", delist_url=SPAMHAUS_LOOKUP),
        Zone("xbl.spamhaus.org", IP, "spamhaus", delist_url=SPAMHAUS_LOOKUP),
        Zone("pbl.spamhaus.org", IP, "spamhaus", delist_url=SPAMHAUS_LOOKUP),
        Zone("zen.dq.spamhaus.net", IP, "spamhaus", delist_url=SPAMHAUS_LOOKUP),
        Zone("bl.spamcop.net", IP, ipv6=False, delist_url="https://www.spamcop.net/bl.shtml"),
        Zone("b.barracudacentral.org", IP, ipv6=False, delist_url="https://www.barracudacentral.org/lookups"),
        Zone("psbl.surriel.com", IP, ipv6=False, delist_url="https://psbl.org/"),
        Zone("dbl.spamhaus.org", DOMAIN, "spamhaus_dbl", listed_test="dbltest.com"),
        Zone("multi.surbl.org", DOMAIN, "surbl", listed_test="test.surbl.org"),
        Zone("multi.uribl.com", DOMAIN, "uribl", listed_test="test.uribl.com"),
    )
}

_SPAMHAUS_ERRORS = {
    "127.255.255.252": "typing error in the list's name",
    "127.255.255.254": "queried through a public or open resolver, which Spamhaus refuses",
    "127.255.255.255": "too many queries from this resolver",
}
_SPAMHAUS_IP = {
    "127.0.0.2": (LISTED, "SBL: Spamhaus blocklist (spam source)"),
    "127.0.0.3": (LISTED, "SBL CSS: snowshoe spam source"),
    "127.0.0.4": (LISTED, "XBL: exploited or infected host"),
    "127.0.0.5": (LISTED, "XBL: exploited or infected host"),
    "127.0.0.6": (LISTED, "XBL: exploited or infected host"),
    "127.0.0.7": (LISTED, "XBL: exploited or infected host"),
    "127.0.0.9": (LISTED, "DROP: hijacked or criminal network"),
    "127.0.0.10": (POLICY, "PBL (ISP): addresses that should not send mail directly"),
    "127.0.0.11": (POLICY, "PBL (Spamhaus): addresses that should not send mail directly"),
}
_SPAMHAUS_DBL = {
    "127.0.1.2": "spam domain",
    "127.0.1.4": "phishing domain",
    "127.0.1.5": "malware domain",
    "127.0.1.6": "botnet command-and-control domain",
    "127.0.1.102": "abused legitimate domain (spam)",
    "127.0.1.103": "abused legitimate domain (spammed redirector)",
    "127.0.1.104": "abused legitimate domain (phishing)",
    "127.0.1.105": "abused legitimate domain (malware)",
    "127.0.1.106": "abused legitimate domain (botnet C&C)",
}
_SURBL_BITS = {8: "phishing", 16: "malware", 64: "abuse (spam)", 128: "cracked site"}
_URIBL_BITS = {2: "black: spam domain", 4: "grey: bulk sender, often unsolicited", 8: "red: newly seen in spam"}


def _bits(code: str, names: dict[int, str]) -> list[str]:
    value = int(code.rsplit(".", 1)[1])
    return [name for bit, name in names.items() if value & bit]


def interpret(zone: Zone, code: str) -> tuple[str, str]:
    """(LISTED | POLICY | ERROR, meaning) for one A record a zone returned."""
    if ipaddress.ip_address(code) not in ipaddress.ip_network("127.0.0.0/8"):
        return ERROR, "answer outside 127.0.0.0/8: the resolver rewrites answers, results cannot be trusted"
    if zone.family in ("spamhaus", "spamhaus_dbl") and code.startswith("127.255.255."):
        return ERROR, _SPAMHAUS_ERRORS.get(code, "Spamhaus error code")
    if zone.family == "spamhaus":
        return _SPAMHAUS_IP.get(code, (LISTED, "listed (unknown Spamhaus code)"))
    if zone.family == "spamhaus_dbl":
        if code == "127.0.1.255":
            return ERROR, "the list refuses this kind of query"
        return LISTED, _SPAMHAUS_DBL.get(code, "listed (unknown Spamhaus DBL code)")
    if zone.family in ("surbl", "uribl"):
        if code == "127.0.0.1":
            return ERROR, "the list refused the query (this resolver is blocked or over its quota)"
        meanings = _bits(code, _SURBL_BITS if zone.family == "surbl" else _URIBL_BITS)
        if zone.family == "uribl" and meanings == [_URIBL_BITS[4]]:
            return POLICY, meanings[0]
        return LISTED, ", ".join(meanings) or "listed"
    return LISTED, "listed"


def _zones(names: list[str], kind: str) -> list[Zone]:
    zones = []
    keys = {name.strip().lower().rstrip("."): key for name, key in settings.PORTAL_DNSBL_KEYS.items()}
    for raw in names:
        name = raw.strip().lower().rstrip(".")
        if name:
            known = KNOWN_ZONES.get(name)
            zone = known if known and known.kind == kind else Zone(name, kind)
            zones.append(replace(zone, key=keys[name]) if keys.get(name) else zone)
    return zones


def ip_zones() -> list[Zone]:
    return _zones(settings.PORTAL_DNSBL_ZONES, IP)


def domain_zones() -> list[Zone]:
    return _zones(settings.PORTAL_DOMAIN_BLOCKLIST_ZONES, DOMAIN)
