"""Fixtures of the automated checks: a DNS zone for them, loopback web servers with a trusted certificate.

Loaded as a plugin by tests/conftest.py; modules opt in with `pytestmark = pytest.mark.usefixtures("checks_env")`.
"""

import ssl
import subprocess
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.reversename
import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.smtp_servers import LOCAL_DOMAIN, SERVER_NAME
from verification.outcome import AccountFacts, CheckSubject

UNSUB_HOST = f"unsub.{LOCAL_DOMAIN}"


def _bl(ip: str, zone: str) -> str:
    return dns.reversename.from_address(ip).to_text().rsplit(".", 3)[0] + f".{zone}."


CHECKS_ZONE = "\n".join(
    [
        f"{SERVER_NAME}.                 60 IN A     127.0.0.1",
        f"1.0.0.127.in-addr.arpa.         60 IN PTR   {SERVER_NAME}.",
        f'{LOCAL_DOMAIN}.                 60 IN TXT   "v=spf1 ip4:127.0.0.1 -all"',
        f"{LOCAL_DOMAIN}.                 60 IN MX    10 {SERVER_NAME}.",
        f'_dmarc.{LOCAL_DOMAIN}.          60 IN TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@{LOCAL_DOMAIN}"',
        f"www.{LOCAL_DOMAIN}.             60 IN A     127.0.0.1",
        f"{UNSUB_HOST}.                   60 IN A     127.0.0.1",
        # Reverse DNS cases: none for .2, unconfirmed .3, generic .4, another name .5
        f"3.0.0.127.in-addr.arpa.         60 IN PTR   nomatch.{LOCAL_DOMAIN}.",
        f"nomatch.{LOCAL_DOMAIN}.         60 IN A     127.0.0.99",
        "4.0.0.127.in-addr.arpa.          60 IN PTR   127-0-0-4.pool.example.org.",
        "127-0-0-4.pool.example.org.      60 IN A     127.0.0.4",
        f"5.0.0.127.in-addr.arpa.         60 IN PTR   other.{LOCAL_DOMAIN}.",
        f"other.{LOCAL_DOMAIN}.           60 IN A     127.0.0.5",
        # SPF / DMARC / MX cases
        "spf-none.example.org.            60 IN A     127.0.0.1",
        'spf-plusall.example.org.         60 IN TXT   "v=spf1 +all"',
        'spf-other.example.org.           60 IN TXT   "v=spf1 ip4:192.0.2.1 -all"',
        'spf-include.example.org.         60 IN TXT   "v=spf1 include:_spf.acme-mail.example.org -all"',
        f'_spf.{LOCAL_DOMAIN}.            60 IN TXT   "v=spf1 ip4:127.0.0.0/8 -all"',
        f"spf-include.example.org.        60 IN MX    10 {SERVER_NAME}.",
        '_dmarc.spf-include.example.org.  60 IN TXT   "v=DMARC1; p=none"',
        'spf-mx.example.org.              60 IN TXT   "v=spf1 mx -all"',
        f"spf-mx.example.org.             60 IN MX    10 {SERVER_NAME}.",
        '_dmarc.spf-mx.example.org.       60 IN TXT   "v=DMARC1; p=quarantine"',
        # A chain of includes one longer than the 10-look-up limit.
        'spf-many.example.org.            60 IN TXT   "v=spf1 include:l0.spf-many.example.org -all"',
        *[f'l{i}.spf-many.example.org. 60 IN TXT "v=spf1 include:l{i + 1}.spf-many.example.org"' for i in range(11)],
        'l11.spf-many.example.org.        60 IN TXT   "v=spf1 ip4:127.0.0.1 -all"',
        'spf-two.example.org.             60 IN TXT   "v=spf1 -all"',
        'spf-two.example.org.             60 IN TXT   "v=spf1 ip4:127.0.0.1 -all"',
        # Blocklists: Spamhaus ZEN with its test points, listings, policy and error codes
        f"{_bl('127.0.0.2', 'zen.spamhaus.org')} 60 IN A 127.0.0.2",
        f"{_bl('127.0.0.2', 'zen.spamhaus.org')} 60 IN A 127.0.0.10",
        f"{_bl('::ffff:7f00:2', 'zen.spamhaus.org')} 60 IN A 127.0.0.2",
        f"{_bl('127.0.0.9', 'zen.spamhaus.org')} 60 IN A 127.0.0.2",
        f'{_bl("127.0.0.9", "zen.spamhaus.org")} 60 IN TXT "https://check.spamhaus.org/listed/?searchterm=127.0.0.9"',
        f"{_bl('127.0.0.10', 'zen.spamhaus.org')} 60 IN A 127.0.0.11",
        f"{_bl('127.0.0.11', 'zen.spamhaus.org')} 60 IN A 127.255.255.254",
        f"{_bl('2001:db8::99', 'zen.spamhaus.org')} 60 IN A 127.0.0.3",
        f"{_bl('127.0.0.2', 'bl.spamcop.net')} 60 IN A 127.0.0.2",
        # A Spamhaus zone asked through a public resolver answers every query with an error code.
        f"{_bl('127.0.0.2', 'sbl.spamhaus.org')} 60 IN A 127.255.255.254",
        f"{_bl('127.0.0.1', 'everything.dnsbl.example.org')} 60 IN A 127.0.0.2",
        f"{_bl('127.0.0.2', 'everything.dnsbl.example.org')} 60 IN A 127.0.0.2",
        "dbltest.com.dbl.spamhaus.org.    60 IN A     127.0.1.2",
        "spammy.example.org.dbl.spamhaus.org. 60 IN A 127.0.1.4",
        "test.uribl.com.multi.uribl.com.  60 IN A     127.0.0.2",
        "grey.example.org.multi.uribl.com. 60 IN A    127.0.0.4",
    ]
)


@pytest.fixture(scope="session")
def check_zone(loopback_dns):
    loopback_dns.resolver.add(CHECKS_ZONE)
    loopback_dns.resolver.refused.add("refusing.dnsbl.example.org.")
    loopback_dns.resolver.dropped.add("silent.dnsbl.example.org.")
    return loopback_dns


@pytest.fixture
def checks_env(settings, check_zone):
    """Checks may reach loopback, answer quickly, and consult the loopback blocklists."""
    settings.PORTAL_CHECK_ALLOW_NETWORKS = [*settings.PORTAL_CHECK_ALLOW_NETWORKS, "127.0.0.0/8"]
    settings.PORTAL_DNS_TIMEOUT = 1.0
    settings.PORTAL_DNSBL_ZONES = ["zen.spamhaus.org", "bl.spamcop.net"]
    settings.PORTAL_DOMAIN_BLOCKLIST_ZONES = ["dbl.spamhaus.org", "multi.uribl.com"]
    settings.PORTAL_SMTP_PROBE_TIMEOUT = 1.0
    settings.PORTAL_SMTP_PROBE_DEADLINE = 5.0
    settings.PORTAL_HTTP_TIMEOUT = 1.0
    settings.PORTAL_CHECK_TIMEOUT = 8.0
    cache.clear()
    yield settings
    cache.clear()


def good_account(**overrides) -> AccountFacts:
    facts = {
        "created_at": timezone.now() - timedelta(days=400),
        "missing_verifications": [],
        "revoked_for_abuse": False,
    }
    return AccountFacts(**{**facts, **overrides})


def make_subject(**overrides) -> CheckSubject:
    values = {
        "mail_server_ip": "127.0.0.1",
        "mail_server_hostname": SERVER_NAME,
        "sending_domain": LOCAL_DOMAIN,
        "website_url": f"https://www.{LOCAL_DOMAIN}/",
        "company_name": "Acme Mail",
        "account": good_account(),
    }
    return CheckSubject(**{**values, **overrides})


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the unsubscribe host and the mail server: (cert, key) files."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key), "-out",
         str(cert), "-subj", f"/CN={UNSUB_HOST}", "-addext", f"subjectAltName=DNS:{UNSUB_HOST},DNS:{SERVER_NAME}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """The test trusts it through SSL_CERT_FILE (see trusted_web)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


class _Pages(BaseHTTPRequestHandler):
    """/ok, /missing (404), /slow (past the timeout), /loop, /to-private, /to-http; anything else redirects to /ok."""

    def do_GET(self) -> None:
        host = self.headers["Host"]
        routes = {
            "/ok": (200, ""),
            "/missing": (404, ""),
            "/loop": (302, "/loop"),
            "/to-private": (302, "https://private.example.com/unsubscribe"),
            "/to-http": (302, f"http://{UNSUB_HOST}:{self.server.plain_port}/ok"),
        }
        if self.path == "/slow":
            time.sleep(3)
        status, location = routes.get(self.path, (302, f"https://{host}/ok"))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # clients that give up early (the timeout tests) are expected


def start_web_servers(cert: Path, key: Path) -> list[ThreadingHTTPServer]:
    """An HTTPS and a plain HTTP server of the same pages on 127.0.0.1; stop them with stop_web_servers."""
    secure, plain = _QuietServer(("127.0.0.1", 0), _Pages), _QuietServer(("127.0.0.1", 0), _Pages)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    for server in (secure, plain):
        server.plain_port = plain.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return [secure, plain]


def stop_web_servers(servers: list[ThreadingHTTPServer]) -> None:
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def web_servers(certificate):
    """(https port, http port) of one page set on 127.0.0.1, for UNSUB_HOST."""
    servers = start_web_servers(*certificate)
    yield servers[0].server_address[1], servers[1].server_address[1]
    stop_web_servers(servers)


@pytest.fixture
def trusted_web(web_servers, certificate, monkeypatch) -> int:
    """The HTTPS port, with the test certificate trusted by the checks (OpenSSL reads SSL_CERT_FILE per context)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return web_servers[0]
