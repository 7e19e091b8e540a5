"""check_domain DOMAIN --ip IP [--json]: SPF, DMARC and MX of a sending domain, as the pipeline checks them."""

import ipaddress
import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.hostnames import normalise_hostname
from verification.checks import BY_NAME, domain_auth
from verification.outcome import CheckSubject, Deadline

# The keys a reader of --json may rely on, present even when DNS did not answer.
CONTRACT = {
    "spf": {"result": "temperror", "record": "", "lookups": 0},
    "dmarc": {"record": "", "policy": "", "organizational_domain": ""},
    "mx": {"hosts": [], "null_mx": False},
}


class Command(BaseCommand):
    help = "Check SPF (for IP), DMARC and MX of DOMAIN as the pipeline does. Exit code 0 whatever the result."

    def add_arguments(self, parser) -> None:
        parser.add_argument("domain", help="The sending domain (the part after @ in the envelope sender).")
        parser.add_argument("--ip", required=True, help="The sending server's IP address, for SPF.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")

    def handle(self, *args, domain: str, ip: str, as_json: bool, **options) -> None:
        domain, ip = _domain(domain), _ip(ip)
        check = BY_NAME["domain_auth"]
        subject = CheckSubject(mail_server_ip=ip, mail_server_hostname="", sending_domain=domain)
        outcome = domain_auth.check(subject, Deadline(check.timeout))
        parts = {name: {**defaults, **outcome.evidence.get(name, {})} for name, defaults in CONTRACT.items()}
        if as_json:
            report = {"domain": domain, "ip": ip, "verdict": outcome.verdict, "summary": outcome.summary, **parts}
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"{domain} sent from {ip}: {outcome.verdict}")
        spf, dmarc, mx = parts["spf"], parts["dmarc"], parts["mx"]
        self.stdout.write(f"SPF   {spf['result']} ({spf['lookups']} DNS look-ups): {spf['record'] or '-'}")
        self.stdout.write(
            f"DMARC {dmarc['policy'] or '-'} (organisational domain {dmarc['organizational_domain'] or '-'}): "
            f"{dmarc['record'] or '-'}"
        )
        self.stdout.write(f"MX    {', '.join(mx['hosts']) or '-'}{'  (null MX)' if mx['null_mx'] else ''}")
        self.stdout.write(outcome.summary)


def _domain(value: str) -> str:
    try:
        return normalise_hostname(value)
    except ValidationError as exc:
        raise CommandError(f"{value}: {' '.join(exc.messages)}") from exc


def _ip(value: str) -> str:
    try:
        return ipaddress.ip_address(value.strip()).compressed
    except ValueError as exc:
        raise CommandError(f"--ip {value!r} is not an IPv4 or IPv6 address") from exc
