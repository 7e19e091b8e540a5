"""probe_relay HOST [--port N] [--json]: the open-relay probe alone, for operators and support."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.hostnames import normalise_hostname
from verification.checks import relay_probe
from verification.checks.safe_http import Stopped, checked_address
from verification.public_address import ip_literal


class Command(BaseCommand):
    help = "Try to relay through a mail server (never sends a message). Exit code 0 whatever the verdict."

    def add_arguments(self, parser) -> None:
        parser.add_argument("host", help="Host name or IP address of the mail server.")
        parser.add_argument("--port", type=int, default=None, help="SMTP port (default: PORTAL_SMTP_PROBE_PORT).")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object.")

    def handle(self, *args, host: str, port: int | None, as_json: bool, **options) -> None:
        port = port if port is not None else settings.PORTAL_SMTP_PROBE_PORT
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, not {port}")
        ip = _guarded(host)
        name = "" if ip_literal(host) else normalise_hostname(host)
        report = relay_probe.probe(ip, port, server_name=name)
        if as_json:
            self.stdout.write(json.dumps({"host": host, **report.as_dict()}, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"{host} ({ip}) port {port}: {report.verdict} ({report.reason})")
        self.stdout.write(f"banner: {report.banner or '-'}  STARTTLS: {'yes' if report.starttls else 'no'}")
        if report.auth_before_tls:
            self.stdout.write(f"AUTH before TLS: {' '.join(report.auth_before_tls)}")
        if report.error:
            self.stdout.write(f"stopped: {report.error}")
        for number, attempt in enumerate(report.attempts):
            where = "TLS" if attempt.tls else "   "
            decided = "*" if number == report.decided_by else " "
            self.stdout.write(
                f"{decided} {where} {attempt.outcome:14} <{attempt.sender}> -> <{attempt.recipient}>: "
                f"{attempt.code} {attempt.reply}"
            )
        if report.decided_by is not None:
            self.stdout.write("* decided the verdict")


def _guarded(host: str) -> str:
    """The address to probe, once the guard passed the host; a refused host is a bad argument."""
    try:
        return checked_address(host)
    except Stopped as exc:
        raise CommandError(f"{host}: {exc.detail}") from exc
