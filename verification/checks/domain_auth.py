"""SPF, DMARC and MX of the sending domain: would receivers accept mail from this server for it?"""

import ipaddress

import dns.exception
import dns.name
import dns.resolver
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from verification.checks import dmarc, reverse_dns, spf
from verification.outcome import CheckSubject, Deadline, Outcome, Verdict, worst

# What to tell the customer for each SPF result that does not authorise the server.
SPF_ADVICE = {
    "none": (
        Verdict.FAIL,
        _lazy(
            "%(domain)s has no SPF record. Publish a TXT record “v=spf1 ip4:%(ip)s -all” (or add your server)."
        ),
    ),
    "fail": (
        Verdict.FAIL,
        _lazy(
            "The SPF record of %(domain)s does not authorise %(ip)s (result “fail”): receivers will reject "
            "your mail. Add “ip4:%(ip)s” (or ip6:) to it."
        ),
    ),
    "softfail": (
        Verdict.FAIL,
        _lazy(
            "The SPF record of %(domain)s does not authorise %(ip)s (“~all”: receivers mark your mail as suspect). "
            "Add “ip4:%(ip)s” (or ip6:) to it."
        ),
    ),
    "neutral": (
        Verdict.FAIL,
        _lazy(
            "The SPF record of %(domain)s says nothing about %(ip)s (neutral), so receivers trust your mail no more "
            "than a stranger's. Add “ip4:%(ip)s” (or ip6:) to it."
        ),
    ),
    "permerror": (
        Verdict.FAIL,
        _lazy(
            "The SPF record of %(domain)s is invalid (%(reason)s); receivers treat it as an error. Correct it."
        ),
    ),
    "temperror": (
        Verdict.ERROR,
        _lazy(
            "We could not read the SPF record of %(domain)s (DNS did not answer: %(reason)s). Re-run the checks later."
        ),
    ),
}


def _spf_part(resolver: dns.resolver.Resolver, ip: str, domain: str, seconds: float) -> tuple[str, str, dict]:
    evaluation = spf.evaluate(resolver, ip, domain, seconds=seconds)
    facts = evaluation.as_dict()
    values = {"domain": domain, "ip": ip, "reason": evaluation.notes[-1] if evaluation.notes else ""}
    if evaluation.result in SPF_ADVICE:
        verdict, message = SPF_ADVICE[evaluation.result]
        return verdict, str(message) % values, facts
    if evaluation.all_qualifier == "+":
        message = _("The SPF record of %(domain)s ends in “+all”, which lets anyone send as you. Use “-all” or “~all”.")
        return Verdict.FAIL, message % values, facts
    if evaluation.all_qualifier in ("?", ""):
        message = _("The SPF record of %(domain)s authorises your server but ends neutrally; end it with “-all”.")
        return Verdict.WARN, message % values, facts
    return Verdict.PASS, _("SPF of %(domain)s authorises %(ip)s.") % values, facts


def _dmarc_part(resolver: dns.resolver.Resolver, domain: str) -> tuple[str, str, dict]:
    try:
        policy = dmarc.lookup(resolver, domain)
    except spf.SpfError:
        return Verdict.ERROR, _("We could not read the DMARC record of %(domain)s.") % {"domain": domain}, {}
    facts = policy.as_dict()
    values = {"domain": domain, "where": policy.found_at, "policy": policy.applied_policy}
    if not policy.record:
        message = _(
            "%(domain)s has no DMARC record (nor has %(org)s). Publish “_dmarc.%(org)s TXT v=DMARC1; p=none; "
            "rua=mailto:…” and move to p=quarantine once the reports are clean."
        )
        return Verdict.WARN, message % {**values, "org": policy.organizational_domain}, facts
    if policy.errors:
        message = _("The DMARC record of %(where)s is invalid (%(errors)s); receivers ignore it. Correct it.")
        return Verdict.FAIL, message % {**values, "errors": "; ".join(policy.errors)}, facts
    if policy.applied_policy == "none":
        message = _("The DMARC policy for %(domain)s is “none” (monitoring only); move to quarantine or reject.")
        return Verdict.WARN, message % values, facts
    if policy.pct < 100:
        message = _("The DMARC policy for %(domain)s applies to %(pct)s%% of failing mail only (pct=); use pct=100.")
        return Verdict.WARN, message % {**values, "pct": policy.pct}, facts
    return Verdict.PASS, _("DMARC policy for %(domain)s is %(policy)s (record at %(where)s).") % values, facts


def mx_hosts(resolver: dns.resolver.Resolver, domain: str) -> list[tuple[int, str]]:
    """(preference, host) pairs, best first; a null MX (RFC 7505) is (0, "")."""
    try:
        answer = resolver.resolve(domain, "MX")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return sorted(
        (r.preference, "" if r.exchange == dns.name.root else r.exchange.to_text(omit_final_dot=True)) for r in answer
    )


def _mx_part(resolver: dns.resolver.Resolver, domain: str) -> tuple[str, str, dict]:
    try:
        hosts = mx_hosts(resolver, domain)
    except reverse_dns.DNS_FAILURES:
        return Verdict.ERROR, _("We could not read the MX records of %(domain)s.") % {"domain": domain}, {}
    null_mx = any(host == "" for _pref, host in hosts)
    facts = {"hosts": [f"{pref} {host or '.'}" for pref, host in hosts], "null_mx": null_mx}
    if null_mx:
        message = _(
            "%(domain)s publishes a null MX (“0 .”, RFC 7505): it accepts no mail, so bounces and replies to your "
            "mail cannot come back. Publish an MX record for a server that receives mail."
        )
        return Verdict.WARN, message % {"domain": domain}, facts
    if not hosts:
        message = _(
            "%(domain)s accepts no mail (no MX record): replies and bounces cannot reach you. Add an MX record."
        )
        return Verdict.WARN, message % {"domain": domain}, facts
    return Verdict.PASS, _("%(domain)s has MX records.") % {"domain": domain}, facts


def examine(ip: str, domain: str, deadline: Deadline) -> dict[str, tuple[str, str, dict]]:
    """{"spf" | "dmarc" | "mx": (verdict, customer's sentence, facts)}. Raises DNSException."""
    resolver = reverse_dns.resolver_for(deadline)
    return {
        "spf": _spf_part(resolver, ip, domain, deadline.remaining()),
        "dmarc": _dmarc_part(resolver, domain),
        "mx": _mx_part(resolver, domain),
    }


def check(subject: CheckSubject, deadline: Deadline) -> Outcome:
    ip = ipaddress.ip_address(subject.mail_server_ip).compressed
    domain = subject.sending_domain.lower().rstrip(".")
    try:
        parts = examine(ip, domain, deadline)
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
