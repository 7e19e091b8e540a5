"""The unsubscribe-link check against HTTPS servers on loopback, and the guard on every hop."""

import socket
import struct
import threading

import pytest

from tests.check_fixtures import UNSUB_HOST, make_subject
from tests.smtp_servers import raw_server
from verification.checks import safe_http, unsubscribe_link
from verification.outcome import Deadline, Verdict

pytestmark = pytest.mark.usefixtures("checks_env")


def resetter(connection: socket.socket, stop: threading.Event) -> None:
    """Resets the connection at once (SO_LINGER 0): the client reads ECONNRESET."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def check(url: str, **subject):
    return unsubscribe_link.check(make_subject(unsubscribe_url=url, **subject), Deadline(5))


def test_working_https_link_passes_and_connects_to_the_checked_address(trusted_web):
    outcome = check(f"https://{UNSUB_HOST}:{trusted_web}/ok")
    assert outcome.verdict == Verdict.PASS, outcome.summary
    assert outcome.evidence["hops"] == [
        {"url": f"https://{UNSUB_HOST}:{trusted_web}/ok", "ip": "127.0.0.1", "status": 200, "location": ""}
    ]


def test_redirects_are_followed(trusted_web):
    outcome = check(f"https://{UNSUB_HOST}:{trusted_web}/unsubscribe?u=42")
    assert outcome.verdict == Verdict.PASS
    assert [hop["status"] for hop in outcome.evidence["hops"]] == [302, 200]


def test_redirect_to_a_private_address_is_refused_before_connecting(trusted_web):
    outcome = check(f"https://{UNSUB_HOST}:{trusted_web}/to-private")
    assert outcome.verdict == Verdict.FAIL
    assert "not on the public Internet" in outcome.summary
    last = outcome.evidence["hops"][-1]
    assert last["url"] == "https://private.example.com/unsubscribe"
    assert (last["ip"], last["status"]) == ("", None)
    assert "10.1.2.3" in outcome.evidence["detail"]


def test_redirect_to_plain_http_warns(trusted_web):
    outcome = check(f"https://{UNSUB_HOST}:{trusted_web}/to-http")
    assert outcome.verdict == Verdict.WARN
    assert outcome.evidence["hops"][-1]["status"] == 200


@pytest.mark.parametrize(("path", "words"), [("/missing", "error 404"), ("/loop", "redirects")])
def test_broken_links_fail(trusted_web, path, words):
    outcome = check(f"https://{UNSUB_HOST}:{trusted_web}{path}")
    assert outcome.verdict == Verdict.FAIL
    assert words in outcome.summary


def test_slow_page_is_an_error_not_a_failure(trusted_web):
    outcome = check(f"https://{UNSUB_HOST}:{trusted_web}/slow")
    assert outcome.verdict == Verdict.ERROR


def test_untrusted_certificate_fails_in_words_with_the_raw_error_kept(web_servers):
    outcome = check(f"https://{UNSUB_HOST}:{web_servers[0]}/ok")
    assert outcome.verdict == Verdict.FAIL
    assert outcome.evidence["problem"] == safe_http.TLS
    assert "its TLS certificate is" in outcome.summary
    assert "SSL" not in outcome.summary and "_ssl.c" not in outcome.summary
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.evidence["error"]


def test_a_connection_reset_is_said_in_words():
    with raw_server(resetter) as port:
        outcome = check(f"https://{UNSUB_HOST}:{port}/ok")
    assert outcome.verdict == Verdict.FAIL
    assert "(it closed the connection half-way)" in outcome.summary and "Errno" not in outcome.summary
    assert "[Errno 104]" in outcome.evidence["error"]


def test_plain_http_link_fails_without_fetching(web_servers):
    outcome = check(f"http://{UNSUB_HOST}:{web_servers[1]}/ok")
    assert outcome.verdict == Verdict.FAIL
    assert "https://" in outcome.summary
    assert "hops" not in outcome.evidence


def test_marketing_without_link_fails():
    outcome = unsubscribe_link.check(make_subject(marketing=True), Deadline(5))
    assert outcome.verdict == Verdict.FAIL


def test_loopback_is_refused_without_the_allow_list(settings, trusted_web):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = []
    outcome = check(f"https://{UNSUB_HOST}:{trusted_web}/ok")
    assert outcome.verdict == Verdict.FAIL
    assert outcome.evidence["problem"] == safe_http.REFUSED


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "127.0.0.1",
        "0x7f000001",
        "2130706433",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "private.example.com",
        "loopback.example.com",
        "cgnat.example.com",
        "mapped.example.com",
        "mixed.example.com",
        "intranet.corp",
    ],
)
def test_internal_hosts_are_refused_by_the_check(settings, host):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = []
    outcome = check(f"https://{host}/unsubscribe")
    assert outcome.verdict == Verdict.FAIL
    assert outcome.evidence["problem"] == safe_http.REFUSED
    assert outcome.evidence["hops"][0]["status"] is None
