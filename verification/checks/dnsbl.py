"""IP and domain blocklist look-ups (RFC 5782), trusting a zone's "not listed" only once it proved it answers."""

import ipaddress
from concurrent.futures import ThreadPoolExecutor

import dns.exception
import dns.resolver
import dns.reversename
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from verification.checks import reverse_dns, template_content
from verification.checks.blocklist_zones import (
    DOMAIN,
    ERROR,
    IP,
    LISTED,
    POLICY,
    Zone,
    domain_zones,
    interpret,
    ip_zones,
)
from verification.outcome import CheckSubject, Deadline, Outcome, Verdict

NOT_LISTED = "not_listed"
MAX_DOMAINS = 10


class ZoneUnusable(Exception):
    """The zone refused, timed out or gave a wrong answer: nothing it says can be trusted now."""


def query_name(zone: Zone, target: str) -> str:
    suffix = f"{zone.key}.{zone.name}" if zone.key else zone.name
    if zone.kind == DOMAIN:
        return f"{target}.{suffix}"
    reverse = dns.reversename.from_address(target).to_text(omit_final_dot=True)
    return reverse.rsplit(".", 2)[0] + "." + suffix  # drop in-addr.arpa / ip6.arpa


def _codes(resolver: dns.resolver.Resolver, qname: str) -> list[str]:
    """A records at `qname`; [] for NXDOMAIN. Raises ZoneUnusable when the zone does not answer."""
    try:
        return sorted(r.address for r in resolver.resolve(qname, "A"))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.LifetimeTimeout) as exc:
        raise ZoneUnusable("the zone did not answer in time") from exc
    except dns.resolver.NoNameservers as exc:
        raise ZoneUnusable("the zone's servers refused or failed the query") from exc


def _reasons(resolver: dns.resolver.Resolver, qname: str) -> list[str]:
    try:
        return [b"".join(r.strings).decode("utf-8", "replace") for r in resolver.resolve(qname, "TXT")]
    except dns.exception.DNSException:
        return []


def _healthy_key(zone: Zone, ip_version: int) -> str:
    return f"dnsbl-healthy:{','.join(settings.PORTAL_DNS_NAMESERVERS)}:{zone.kind}{ip_version}:{zone.name}"


def forget_health(zone: Zone) -> None:
    """The zone answered wrongly after all: test its points again before its next answer is taken."""
    cache.delete_many([_healthy_key(zone, 4), _healthy_key(zone, 6)])


def ensure_answers(zone: Zone, resolver: dns.resolver.Resolver, ip_version: int = 4) -> None:
    """Query the zone's RFC 5782 test points; remember a healthy zone for a while."""
    key = _healthy_key(zone, ip_version)
    if cache.get(key):
        return
    listed, unlisted = zone.test_points(ip_version)
    codes = _codes(resolver, query_name(zone, listed))
    errors = [meaning for kind, meaning in (interpret(zone, c) for c in codes) if kind == ERROR]
    if errors:
        raise ZoneUnusable(errors[0])
    if not codes:
        raise ZoneUnusable(f"test point {listed} is not listed: the zone is not answering properly")
    if _codes(resolver, query_name(zone, unlisted)):
        raise ZoneUnusable(f"test point {unlisted} is listed: the zone lists everything")
    cache.set(key, True, settings.PORTAL_DNSBL_TESTPOINT_CACHE)


def _blank(zone: Zone, target: str) -> dict:
    return {"zone": zone.name, "target": target, "status": NOT_LISTED, "codes": [], "meanings": [], "policy": False}


def _version(target: str) -> int:
    try:
        return ipaddress.ip_address(target).version
    except ValueError:
        return 4  # a domain: one set of test points


def covers(zone: Zone, target: str) -> bool:
    """Whether the zone lists targets of this kind and address family."""
    return zone.kind == DOMAIN or zone.ipv6 or _version(target) == 4


def lookup(zone: Zone, target: str, resolver: dns.resolver.Resolver) -> dict:
    """One zone's answer about `target`: status listed / not_listed / error, codes and what they mean.

    The caller has made sure the zone answers (ensure_answers).
    """
    answer = _blank(zone, target)
    try:
        codes = _codes(resolver, query_name(zone, target))
    except ZoneUnusable as exc:
        return {**answer, "status": ERROR, "meanings": [str(exc)]}
    if not codes:
        return answer
    kinds = [interpret(zone, code) for code in codes]
    answer.update(codes=codes, meanings=[meaning for _kind, meaning in kinds])
    if any(kind == ERROR for kind, _meaning in kinds):
        answer["status"] = ERROR
    else:
        answer.update(status=LISTED, policy=all(kind == POLICY for kind, _meaning in kinds))
        answer["reasons"] = _reasons(resolver, query_name(zone, target))
    return answer


def lookups(zones: list[Zone], targets: list[str], deadline: Deadline | None = None) -> list[dict]:
    """Every (zone, target) pair, zones in parallel: each may wait for its own timeout."""
    resolver = reverse_dns.resolver_for(deadline)
    if not zones or not targets:
        return []

    def per_zone(zone: Zone) -> list[dict]:
        covered = [target for target in targets if covers(zone, target)]
        skipped = [{**_blank(zone, t), "meanings": ["this list covers IPv4 only"]} for t in targets if t not in covered]
        if not covered:
            return skipped
        answers = list(skipped)
        unusable: dict[int, str] = {}  # a zone that failed its test points is not asked again in this call
        for target in covered:
            version = _version(target)
            if version not in unusable:
                try:
                    ensure_answers(zone, resolver, version)
                    unusable[version] = ""
                except ZoneUnusable as exc:
                    unusable[version] = str(exc)
            if unusable[version]:
                answers.append({**_blank(zone, target), "status": ERROR, "meanings": [unusable[version]]})
            else:
                answers.append(lookup(zone, target, resolver))
        return answers

    with ThreadPoolExecutor(max_workers=len(zones)) as pool:
        return [answer for answers in pool.map(per_zone, zones) for answer in answers]


def reputation(target: str) -> dict:
    """What every configured list says about an IP (IP lists) or a domain (domain lists)."""
    try:
        ip = ipaddress.ip_address(target)
    except ValueError:
        return {"target": target, "kind": DOMAIN, "results": lookups(domain_zones(), [target])}
    return {"target": ip.compressed, "kind": IP, "results": lookups(ip_zones(), [ip.compressed])}


def _outcome(results: list[dict], what: str) -> Outcome:
    evidence = {"results": results}
    listed = [r for r in results if r["status"] == LISTED and not r["policy"]]
    policy = [r for r in results if r["status"] == LISTED and r["policy"]]
    errors = [r for r in results if r["status"] == ERROR]
    if listed:
        first = listed[0]
        return Outcome(
            Verdict.FAIL,
            _(
                "%(target)s is listed on %(zone)s (%(meaning)s). Find and stop the cause, then ask the list "
                "for removal on its web site, and re-run the checks."
            )
            % {"target": first["target"], "zone": first["zone"], "meaning": "; ".join(first["meanings"])},
            evidence,
        )
    if errors:
        return Outcome(
            Verdict.ERROR,
            ngettext(
                "%(count)d blocklist could not be queried for %(what)s; we will check again.",
                "%(count)d blocklists could not be queried for %(what)s; we will check again.",
                len(errors),
            )
            % {"count": len(errors), "what": what},
            evidence,
        )
    if policy:
        first = policy[0]
        return Outcome(
            Verdict.WARN,
            _(
                "%(target)s is on a policy list, %(zone)s (%(meaning)s): it is not a spam listing, but some "
                "receivers reject such addresses. You can usually remove it yourself on the list's web site."
            )
            % {"target": first["target"], "zone": first["zone"], "meaning": "; ".join(first["meanings"])},
            evidence,
        )
    return Outcome(Verdict.PASS, _("%(what)s is on none of the blocklists we check.") % {"what": what}, evidence)


def check_ip(subject: CheckSubject, deadline: Deadline) -> Outcome:
    ip = ipaddress.ip_address(subject.mail_server_ip).compressed
    return _outcome(lookups(ip_zones(), [ip], deadline), ip)


def subject_domains(subject: CheckSubject) -> list[str]:
    """The sending domain, the website's and those the template links to, at most MAX_DOMAINS."""
    hosts = [subject.sending_domain, *template_content.hosts_of([subject.website_url, subject.unsubscribe_url])]
    hosts += template_content.linked_hosts(subject.email_template)
    domains = []
    for host in hosts:
        host = (host or "").lower().rstrip(".")
        host = host.removeprefix("www.")
        if host and host not in domains and not _is_ip(host):
            domains.append(host)
    return domains[:MAX_DOMAINS]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def check_domains(subject: CheckSubject, deadline: Deadline) -> Outcome:
    domains = subject_domains(subject)
    return _outcome(lookups(domain_zones(), domains, deadline), ", ".join(domains))
