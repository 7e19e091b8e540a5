"""The open-relay probe against real SMTP servers on loopback (aiosmtpd and raw sockets)."""

import json
import ssl
import time

import pytest
from django.core.management import CommandError, call_command

from tests.check_fixtures import make_subject
from tests.loopback import free_port
from tests.smtp_servers import (
    ClosedRelay,
    Greylisting,
    OpenRelay,
    RefusesEverySender,
    TrickRelay,
    dropper,
    raw_server,
    smtp_server,
    tarpit,
)
from verification.checks import relay_probe, relay_rules
from verification.checks.smtp_session import Reply
from verification.outcome import Deadline, Verdict

pytestmark = pytest.mark.usefixtures("checks_env")


def run_check(settings, port: int, **subject):
    settings.PORTAL_SMTP_PROBE_PORT = port
    return relay_probe.check(make_subject(**subject), Deadline(settings.PORTAL_SMTP_PROBE_DEADLINE))


@pytest.fixture
def tls_context(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_open_relay_fails_with_the_transcript_and_never_sends_data(settings):
    with smtp_server(OpenRelay()) as port:
        outcome = run_check(settings, port)
    assert outcome.verdict == Verdict.FAIL
    assert "open relay" in outcome.summary
    evidence = outcome.evidence
    assert evidence["verdict"] == relay_probe.OPEN
    assert all(a["accepted"] for a in evidence["attempts"] if a["code"] == 250)
    assert evidence["attempts"][0]["sender"] == ""  # the null sender comes first
    assert "C: RCPT TO:<relay-test@example.net>" in evidence["transcript"]
    assert not any(line.startswith(("C: DATA", "C: BDAT")) for line in evidence["transcript"])
    assert evidence["transcript"].count("C: RSET") == len(evidence["attempts"])


def test_closed_server_refusing_with_550_is_not_a_relay(settings):
    with smtp_server(ClosedRelay()) as port:
        outcome = run_check(settings, port)
    evidence = outcome.evidence
    assert evidence["verdict"] == relay_probe.CLOSED
    assert not any(a["accepted"] for a in evidence["attempts"])
    assert {a["code"] for a in evidence["attempts"]} <= {550, 553, 501}
    # Refusing is right, but without STARTTLS mail to it travels in the clear.
    assert outcome.verdict == Verdict.WARN
    assert "STARTTLS" in outcome.summary
    assert evidence["starttls"] is False


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_server_requiring_auth_is_closed_but_offering_auth_before_tls_is_a_warning(settings):
    with smtp_server(ClosedRelay(), auth_required=True) as port:
        outcome = run_check(settings, port)
    assert outcome.evidence["verdict"] == relay_probe.CLOSED
    assert {a["code"] for a in outcome.evidence["attempts"]} == {530}
    assert outcome.verdict == Verdict.WARN
    assert "AUTH" in outcome.summary
    assert outcome.evidence["auth_before_tls"]


def test_percent_hack_and_quoted_local_part_are_caught(settings):
    with smtp_server(TrickRelay()) as port:
        outcome = run_check(settings, port)
    assert outcome.verdict == Verdict.FAIL
    accepted = [a["recipient"] for a in outcome.evidence["attempts"] if a["accepted"]]
    assert "relay-test%example.net@[127.0.0.1]" in accepted
    assert '"relay-test@example.net"' in accepted
    assert "relay-test@example.net" not in accepted  # plain relaying is refused


def test_closed_server_with_starttls_passes_and_reports_tls(settings, tls_context):
    with smtp_server(ClosedRelay(), tls_context=tls_context) as port:
        outcome = run_check(settings, port)
    assert outcome.verdict == Verdict.PASS, outcome.summary
    evidence = outcome.evidence
    assert evidence["starttls"] is True
    assert evidence["tls"]["version"].startswith("TLS")
    assert evidence["name_matches_rdns"] is True  # banner mail.acme-mail.example.org, PTR of 127.0.0.1 the same


def test_tarpit_is_inconclusive_within_the_timeout(settings):
    started = time.monotonic()
    with raw_server(tarpit) as port:
        outcome = run_check(settings, port)
    assert time.monotonic() - started < settings.PORTAL_SMTP_PROBE_TIMEOUT + 2
    assert outcome.verdict == Verdict.ERROR
    assert outcome.evidence["verdict"] == relay_probe.INCONCLUSIVE
    assert outcome.evidence["error"] == "it did not answer in time"
    assert "TimeoutError" in outcome.evidence["error_raw"]


def test_server_that_drops_the_connection_is_inconclusive(settings):
    with raw_server(dropper) as port:
        outcome = run_check(settings, port)
    assert outcome.verdict == Verdict.ERROR
    assert outcome.evidence["verdict"] == relay_probe.INCONCLUSIVE
    assert "closed" in outcome.evidence["error"]


def test_nothing_listening_is_inconclusive_in_words_with_the_raw_error_kept(settings):
    outcome = run_check(settings, free_port())
    assert outcome.verdict == Verdict.ERROR
    assert outcome.evidence["error"] == "it refused the connection"
    assert "(it refused the connection)" in outcome.summary and "Errno" not in outcome.summary
    assert outcome.evidence["error_raw"].startswith("ConnectionRefusedError: [Errno 111]")


def test_loopback_is_refused_without_the_allow_list(settings):
    with smtp_server(OpenRelay()) as port:
        settings.PORTAL_CHECK_ALLOW_NETWORKS = []
        outcome = run_check(settings, port)
    assert outcome.verdict == Verdict.FAIL
    assert "not a public Internet address" in outcome.summary
    assert "transcript" not in outcome.evidence  # no connection was made


@pytest.mark.parametrize("ip", ["10.0.0.25", "192.168.1.25", "169.254.169.254", "100.64.0.25", "::1", "fd00::25"])
def test_internal_addresses_are_never_probed(settings, ip):
    outcome = run_check(settings, 25, mail_server_ip=ip)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.evidence["refused"]


def test_probe_relay_command_prints_json(settings, capsys):
    with smtp_server(TrickRelay()) as port:
        call_command("probe_relay", "127.0.0.1", "--port", str(port), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "open"
    assert report["starttls"] is False
    assert report["banner"].startswith("mail.acme-mail.example.org")
    assert {"sender", "recipient", "code", "accepted"} <= set(report["attempts"][0])


def test_probe_relay_command_text_and_name(settings, capsys):
    with smtp_server(ClosedRelay()) as port:
        call_command("probe_relay", "mail.acme-mail.example.org", "--port", str(port))
    out = capsys.readouterr().out
    assert "(127.0.0.1)" in out
    assert ": closed" in out
    assert "refused" in out


def test_probe_relay_command_exits_zero_for_an_inconclusive_verdict(settings, capsys):
    with raw_server(dropper) as port:
        call_command("probe_relay", "127.0.0.1", "--port", str(port), "--json")
    assert json.loads(capsys.readouterr().out)["verdict"] == "inconclusive"


@pytest.mark.parametrize(
    "host",
    ["localhost", "0x7f000001", "[::ffff:127.0.0.1]", "private.example.com", "10.0.0.1", "no-such-host.example.org"],
)
def test_probe_relay_command_refuses_internal_hosts(settings, host):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = []
    with pytest.raises(CommandError):
        call_command("probe_relay", host, "--port", "25")


def test_probe_relay_command_refuses_a_bad_port():
    with pytest.raises(CommandError, match="--port"):
        call_command("probe_relay", "127.0.0.1", "--port", "70000")


def test_a_refused_sender_is_neither_refusal_nor_acceptance(settings):
    with smtp_server(RefusesEverySender()) as port:
        outcome = run_check(settings, port)
    evidence = outcome.evidence
    assert evidence["verdict"] == relay_probe.INCONCLUSIVE
    assert {a["outcome"] for a in evidence["attempts"]} == {"sender_refused"}
    assert not any(line.startswith("C: RCPT") for line in evidence["transcript"])
    assert outcome.verdict == Verdict.ERROR
    assert "refused every sender" in outcome.summary


def test_greylisting_is_inconclusive_and_says_when_to_rerun(settings):
    settings.PORTAL_CHECK_RERUN_INTERVAL = 60
    with smtp_server(Greylisting()) as port:
        outcome = run_check(settings, port)
    assert outcome.evidence["verdict"] == relay_probe.INCONCLUSIVE
    assert outcome.verdict == Verdict.ERROR
    assert "temporary refusal" in outcome.summary
    assert "in 2 minutes" in outcome.summary  # the server asked for 120 seconds, longer than the re-run interval


def test_the_matrix_has_nmaps_sixteen_forms_with_the_server_name_and_the_literal(settings):
    with smtp_server(ClosedRelay()) as port:
        outcome = run_check(settings, port)
    attempts = outcome.evidence["attempts"]
    assert len(attempts) == 16
    recipients = {a["recipient"] for a in attempts}
    assert "relay-test%example.net@mail.acme-mail.example.org" in recipients  # the server's own name (banner)
    assert "example.net!relay-test@[127.0.0.1]" in recipients
    assert "@[127.0.0.1]:relay-test@example.net" in recipients
    assert outcome.evidence["decided_by"] == 0
    assert "“550 5.7.1 Relaying denied” to <relay-test@example.net>" in outcome.summary


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("250 2.1.5 Ok", "accepted"),
        ("454 4.7.1 <relay-test@example.net>: Relay access denied", "refused"),  # Postfix's default
        ("554 5.7.1 <relay-test@example.net>: Relay access denied", "refused"),
        ("550 relay not permitted", "refused"),  # Exim
        ("550 5.7.1 Unable to relay for relay-test@example.net", "refused"),  # Exchange
        ("530 5.7.0 Authentication required", "refused"),
        ("535 5.7.1 Client was not authenticated", "refused"),
        ("550 5.1.1 <relay-test@example.net>: Recipient address rejected: User unknown", "refused"),
        ("530 5.7.0 Must issue a STARTTLS command first", "needs_tls"),
        ("530 5.7.11 Encryption required for requested authentication mechanism", "needs_tls"),
        ("451 4.7.1 Greylisted, please try again in 300 seconds", "temporary"),
        ("450 4.2.0 <relay-test@example.net>: Recipient address rejected: Greylisted", "temporary"),
        ("451 4.3.0 Temporary lookup failure", "temporary"),
        ("450 4.2.1 relay-test@example.net: mailbox temporarily unavailable", "temporary"),
        ("421 4.7.0 mail.example.org Error: too many errors", "session_ended"),
    ],
)
def test_what_each_rcpt_reply_means(reply, outcome):
    code, _, text = reply.partition(" ")
    assert relay_rules.read_rcpt_reply(Reply(int(code), [text])).outcome == outcome


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("250 2.1.0 Ok", None),
        ("501 5.1.7 Bad sender address syntax", "sender_refused"),
        ("501 <probe@[127.0.0.1]>: domain literals not allowed", "sender_refused"),
        ("530 5.7.0 Must issue a STARTTLS command first", "needs_tls"),
        ("530 5.7.0 Authentication required", "refused"),
        ("451 4.7.1 Greylisted", "temporary"),
        ("421 4.4.2 Timeout exceeded", "session_ended"),
    ],
)
def test_what_each_mail_reply_means(reply, outcome):
    code, _, text = reply.partition(" ")
    reading = relay_rules.read_mail_reply(Reply(int(code), [text]))
    assert (reading and reading.outcome) == outcome
