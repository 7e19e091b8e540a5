"""check_reputation TARGET [--json]: what the configured blocklists say about an IP or a domain."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.hostnames import normalise_hostname
from verification.checks import dnsbl
from verification.public_address import ip_literal, is_public_ip


class Command(BaseCommand):
    help = "Look an IP address up on the IP blocklists, or a domain on the domain blocklists."

    def add_arguments(self, parser) -> None:
        parser.add_argument("target", help="An IPv4/IPv6 address or a domain name.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")

    def handle(self, *args, target: str, as_json: bool, **options) -> None:
        report = dnsbl.reputation(_guarded(target))
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"{report['target']} ({report['kind']})")
        for result in report["results"]:
            codes = ", ".join(result["codes"]) or "-"
            meanings = "; ".join(result["meanings"])
            self.stdout.write(f"  {result['zone']:28} {result['status']:11} {codes}  {meanings}")


def _guarded(target: str) -> str:
    """The address or domain in canonical form; internal ones are refused like everywhere else."""
    literal = ip_literal(target)
    if literal is not None:
        if not is_public_ip(literal):
            raise CommandError(f"{target} is not a public address")
        return literal.compressed
    try:
        return normalise_hostname(target)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc
