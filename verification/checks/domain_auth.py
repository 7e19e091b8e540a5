"""SPF, DMARC and MX of the sending domain: would receivers accept mail from this server for it?"""

import ipaddress

import dns.exception
import dns.resolver
from django.utils.translation import gettext as _

from verification.checks import reverse_dns, spf
from verification.outcome import CheckSubject, Deadline, Outcome, Verdict, worst

DMARC_POLICIES = ("none", "quarantine", "reject")


def _spf_part(resolver: dns.resolver.Resolver, ip: str, domain: str) -> tuple[str, str, dict]:
    evaluation = spf.evaluate(resolver, ip, domain)
    facts = evaluation.as_dict()
    values = {"domain": domain, "ip": ip}
    if evaluation.result == "temperror":
        return Verdict.ERROR, _("We could not read the SPF record of %(domain)s (DNS did not answer).") % values, facts
    if evaluation.result == "none":
        message = _("%(domain)s has no SPF record. Publish a TXT record “v=spf1 ip4:%(ip)s -all” (or add your server).")
        return Verdict.FAIL, message % values, facts
    if evaluation.result == "permerror":
        return (
            Verdict.FAIL,
            _("The SPF record of %(domain)s is invalid (%(reason)s); receivers ignore it. Correct it.")
            % {**values, "reason": evaluation.notes[-1] if evaluation.notes else "syntax"},
            facts,
        )
    if evaluation.all_qualifier == "+":
        message = _("The SPF record of %(domain)s ends in “+all”, which lets anyone send as you. Use “-all” or “~all”.")
        return Verdict.FAIL, message % values, facts
    if evaluation.result != "pass":
        message = _("The SPF record of %(domain)s does not authorise %(ip)s. Add “ip4:%(ip)s” (or ip6:) to it.")
        return Verdict.FAIL, message % values, facts
    if evaluation.all_qualifier in ("?", ""):
        message = _("The SPF record of %(domain)s authorises your server but ends neutrally; end it with “-all”.")
        return Verdict.WARN, message % values, facts
    return Verdict.PASS, _("SPF of %(domain)s authorises %(ip)s.") % values, facts


def _dmarc_record(resolver: dns.resolver.Resolver, domain: str) -> tuple[str, list[str]]:
    """(where, records) for the domain, or its parent when it has none (a stand-in for the organisational domain)."""
    candidates = [domain]
    labels = domain.split(".")
    if len(labels) > 2:
        candidates.append(".".join(labels[-2:]))
    for name in candidates:
        records = [r for r in spf.txt_records(resolver, f"_dmarc.{name}") if r.lower().startswith("v=dmarc1")]
        if records:
            return name, records
    return domain, []


def _dmarc_part(resolver: dns.resolver.Resolver, domain: str) -> tuple[str, str, dict]:
    try:
        where, records = _dmarc_record(resolver, domain)
    except spf.SpfError:
        return Verdict.ERROR, _("We could not read the DMARC record of %(domain)s.") % {"domain": domain}, {}
    facts: dict = {"domain": where, "records": records}
    if not records:
        message = _("%(domain)s has no DMARC record. Publish “_dmarc.%(domain)s TXT v=DMARC1; p=none; rua=mailto:…”.")
        return Verdict.WARN, message % {"domain": domain}, facts
    tags = dict(
        (part.split("=", 1)[0].strip().lower(), part.split("=", 1)[1].strip())
        for part in records[0].split(";")
        if "=" in part
    )
    facts["policy"] = tags.get("p", "")
    if len(records) > 1 or facts["policy"].lower() not in DMARC_POLICIES:
        message = _("The DMARC record of %(domain)s is invalid (one record with p=none, quarantine or reject).")
        return Verdict.FAIL, message % {"domain": where}, facts
    if facts["policy"].lower() == "none":
        message = _("The DMARC policy of %(domain)s is “none” (monitoring only); move to quarantine or reject.")
        return Verdict.WARN, message % {"domain": where}, facts
    return Verdict.PASS, _("DMARC policy of %(domain)s is %(policy)s.") % {"domain": where, **facts}, facts


def _mx_part(resolver: dns.resolver.Resolver, domain: str) -> tuple[str, str, dict]:
    try:
        answer = resolver.resolve(domain, "MX")
        hosts = sorted((r.preference, r.exchange.to_text(omit_final_dot=True)) for r in answer)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        hosts = []
    except reverse_dns.DNS_FAILURES:
        return Verdict.ERROR, _("We could not read the MX records of %(domain)s.") % {"domain": domain}, {}
    facts = {"mx": [f"{pref} {host or '.'}" for pref, host in hosts]}
    if not hosts or hosts == [(0, "")]:
        message = _(
            "%(domain)s accepts no mail (no MX record): replies and bounces cannot reach you. Add an MX record."
        )
        return Verdict.WARN, message % {"domain": domain}, facts
    return Verdict.PASS, _("%(domain)s has MX records.") % {"domain": domain}, facts


def check(subject: CheckSubject, deadline: Deadline) -> Outcome:
    resolver = reverse_dns.resolver_for(deadline)
    ip = ipaddress.ip_address(subject.mail_server_ip).compressed
    domain = subject.sending_domain.lower().rstrip(".")
    parts = {}
    try:
        parts["spf"] = _spf_part(resolver, ip, domain)
        parts["dmarc"] = _dmarc_part(resolver, domain)
        parts["mx"] = _mx_part(resolver, domain)
    except dns.exception.DNSException as exc:
        return Outcome(
            Verdict.ERROR, _("We could not read the DNS of %(domain)s.") % {"domain": domain}, {"error": str(exc)}
        )
    verdict = worst([v for v, _msg, _facts in parts.values()])
    evidence = {name: {"verdict": v, "summary": msg, **facts} for name, (v, msg, facts) in parts.items()}
    problems = [msg for v, msg, _facts in parts.values() if v == verdict]
    if verdict == Verdict.PASS:
        return Outcome(verdict, _("SPF, DMARC and MX of %(domain)s are in order.") % {"domain": domain}, evidence)
    return Outcome(verdict, " ".join(problems), evidence)
