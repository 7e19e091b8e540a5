"""Benchmark: the check pipeline's wall time for one request next to its slowest single check.

Everything runs on loopback: the dnslib DNS server (with a per-answer latency, as across a
network), an aiosmtpd mail server (closed relay with STARTTLS, slow replies) and an HTTPS
unsubscribe page. The pipeline runs its checks concurrently, so the ratio wall / slowest
should stay close to 1 (goal: under 1.3).

    .venv/bin/python bench/checks.py [--runs N] [--dns-latency S] [--smtp-latency S]
"""

import argparse
import asyncio
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loopback_django import setup_django  # noqa: E402
from tests.dns_server import LoopbackDNS  # noqa: E402  (needs no Django)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dns-latency", type=float, default=0.02, help="seconds added to every DNS answer")
    parser.add_argument("--smtp-latency", type=float, default=0.02, help="seconds added to every RCPT reply")
    args = parser.parse_args()

    dns = LoopbackDNS().start()
    workdir = Path(tempfile.mkdtemp(prefix="bench-checks-"))
    setup_django(
        workdir,
        dns.nameserver,
        PORTAL_DNSBL_ZONES="zen.spamhaus.org,bl.spamcop.net",
        PORTAL_DOMAIN_BLOCKLIST_ZONES="dbl.spamhaus.org,multi.uribl.com",
    )
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from tests.check_fixtures import CHECKS_ZONE, UNSUB_HOST, make_certificate, start_web_servers, stop_web_servers
    from tests.conftest import TEST_ZONE

    dns.resolver.add(TEST_ZONE)
    dns.resolver.add(CHECKS_ZONE)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # Write-ahead logging, as a SQLite shared by a web server and a worker should use: without it
        # every stored result waits for journal-file fsyncs, which is the disk's time, not the pipeline's.
        cursor.execute("PRAGMA journal_mode=WAL")
    cert, key = make_certificate(workdir)
    os.environ["SSL_CERT_FILE"] = str(cert)  # the checks trust the loopback page's certificate
    servers = start_web_servers(cert, key)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    try:
        with _slow_smtp(tls, args.smtp_latency) as port:
            settings.PORTAL_SMTP_PROBE_PORT = port
            dns.resolver.latency = args.dns_latency
            unsubscribe = f"https://{UNSUB_HOST}:{servers[0].server_address[1]}/unsubscribe"
            print(
                f"loopback fixtures: DNS +{args.dns_latency * 1000:.0f} ms per answer, "
                f"SMTP +{args.smtp_latency * 1000:.0f} ms per RCPT reply, SQLite (WAL); 8 checks per request"
            )
            rows = []
            for i in range(args.runs):
                cache.clear()  # every run queries the blocklists' test points again
                rows.append(_one_run(i, unsubscribe))
    finally:
        stop_web_servers(servers)
        dns.stop()
    ratios = [wall / slowest for wall, slowest, _checks in rows]
    print(f"median ratio wall/slowest over {len(rows)} runs: {statistics.median(ratios):.2f} (goal < 1.3)")


def _slow_smtp(tls: ssl.SSLContext, latency: float):
    from tests.smtp_servers import ClosedRelay, smtp_server

    class SlowClosedRelay(ClosedRelay):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            await asyncio.sleep(latency)
            return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    return smtp_server(SlowClosedRelay(), tls_context=tls)


def _one_run(i: int, unsubscribe_url: str) -> tuple[float, float, int]:
    from accounts.services import register_customer
    from requests_app import check_flow
    from requests_app.services import submit_request
    from tests.conftest import marketing_answers
    from tests.smtp_servers import LOCAL_DOMAIN, SERVER_NAME
    from verification.models import CheckRun

    user = register_customer(f"bench{i}-{time.time_ns()}@acme-mail.example.org", "bench-password-123", f"Bench {i}")
    answers = marketing_answers(
        company_name="Acme Mail",
        company_website=f"https://www.{LOCAL_DOMAIN}/",
        sending_domain=LOCAL_DOMAIN,
        mail_server_hostname=SERVER_NAME,
        mail_server_ip="127.0.0.1",
        unsubscribe_url=unsubscribe_url,
        email_template="<p>The Acme Mail newsletter.</p><p>Acme Mail, 1 Main Street, Springfield</p>"
        f'<a href="{unsubscribe_url}">Unsubscribe</a>',
    )
    request = submit_request(user.membership.account, user, answers)
    started = time.monotonic()
    check_flow.process(request.pk)
    wall = time.monotonic() - started
    run = CheckRun.objects.get(subject=check_flow.subject_key(request.pk))
    durations = {r.check_name: r.duration_ms / 1000 for r in run.results.all()}
    slowest_name = max(durations, key=durations.get)
    slowest = durations[slowest_name]
    print(
        f"run {i + 1}: pipeline wall {wall * 1000:7.1f} ms | slowest check {slowest_name} {slowest * 1000:7.1f} ms"
        f" | sum of checks {sum(durations.values()) * 1000:7.1f} ms | ratio {wall / slowest:.2f}"
        f" | {len(durations)} checks: "
        + ", ".join(f"{name} {r.status}" for name, r in ((r.check_name, r) for r in run.results.all()))
    )
    return wall, slowest, len(durations)


if __name__ == "__main__":
    main()
