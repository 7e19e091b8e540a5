"""The relay probe against mail servers nobody here wrote (Postfix, Exim) and beside nmap's smtp-open-relay.

The servers start once for the module (one Postfix master for every Postfix case). A case whose
server is missing fails in CI and skips elsewhere, saying what to install (tests/parts.py).
"""

import pytest

from tests.check_fixtures import make_subject
from tests.harnesses.nmap_relay import nmap_missing, run_nmap
from tests.harnesses.real_mtas import exim_missing, postfix_missing
from tests.harnesses.relay_servers import ALL_CASES, NMAP_IS_WRONG, part_missing, relay_matrix
from tests.parts import first_missing, missing
from verification.checks import relay_probe
from verification.outcome import Deadline, Verdict

pytestmark = [
    pytest.mark.usefixtures("checks_env"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

SUMMARY_WORDS = {"open": "open relay", "closed": "refuses to relay", "inconclusive": "temporary refusal"}
POSTFIX = missing(postfix_missing())
EXIM = missing(exim_missing())
CHECK_VERDICTS = {"open": {Verdict.FAIL}, "closed": {Verdict.PASS, Verdict.WARN}, "inconclusive": {Verdict.ERROR}}


@pytest.fixture(scope="module")
def servers(certificate):
    available = tuple(case for case in ALL_CASES if part_missing(case) is None)
    with relay_matrix(certificate, available) as started:
        yield started


def _cases(*extra_missing):
    return [
        pytest.param(case, id=case.name, marks=missing(first_missing(part_missing(case), *extra_missing)))
        for case in ALL_CASES
    ]


@pytest.mark.parametrize("case", _cases())
def test_the_probe_is_right_about_each_server_and_tells_the_customer_so(settings, servers, case):
    settings.PORTAL_SMTP_PROBE_PORT = servers[case.name].port
    outcome = relay_probe.check(make_subject(), Deadline(settings.PORTAL_SMTP_PROBE_DEADLINE))
    evidence = outcome.evidence
    assert evidence["verdict"] == case.verdict, (case.what, evidence["reason"], evidence["attempts"])
    assert outcome.verdict in CHECK_VERDICTS[case.verdict]
    assert SUMMARY_WORDS[case.verdict] in outcome.summary
    assert not any(line.startswith(("C: DATA", "C: BDAT")) for line in evidence["transcript"])
    decided = evidence["attempts"][evidence["decided_by"]]
    if case.verdict == "open":
        assert decided["recipient"] in outcome.summary
    else:
        assert f"{decided['code']} {decided['reply']}" in outcome.summary


@POSTFIX
def test_stock_postfix_refuses_every_form_with_454_and_is_closed(servers):
    report = relay_probe.probe("127.0.0.1", servers["postfix-stock"].port)
    assert report.verdict == "closed"
    assert {a.code for a in report.attempts} == {454}
    assert all(a.reply.endswith("Relay access denied") for a in report.attempts)
    assert {a.outcome for a in report.attempts} == {"refused"}  # no sender was refused: all 16 happened
    assert len(report.attempts) == 16


@POSTFIX
def test_a_server_open_only_inside_tls_is_open_and_the_report_says_which_attempts_ran_inside_tls(servers):
    report = relay_probe.probe("127.0.0.1", servers["postfix-tls-only"].port)
    assert report.verdict == "open"
    plain = [a for a in report.attempts if not a.tls]
    inside = [a for a in report.attempts if a.tls]
    assert {a.outcome for a in plain} == {"needs_tls"}
    assert {a.code for a in plain} == {530}
    assert len(inside) == 16 and all(a.accepted for a in inside)
    assert report.tls_pass and report.tls["version"].startswith("TLS")
    assert report.deciding_attempt.tls


@POSTFIX
def test_greylisting_postfix_is_inconclusive_and_the_customer_is_told_when_to_rerun(settings, servers):
    settings.PORTAL_SMTP_PROBE_PORT = servers["postfix-greylisting"].port
    outcome = relay_probe.check(make_subject(), Deadline(settings.PORTAL_SMTP_PROBE_DEADLINE))
    assert outcome.evidence["verdict"] == "inconclusive"
    assert {a["code"] for a in outcome.evidence["attempts"]} == {451}
    assert "Re-run the checks in 5 minutes" in outcome.summary  # the server asked for 300 seconds


@EXIM
def test_exim_refusing_literal_senders_still_gets_every_recipient_form(servers):
    report = relay_probe.probe("127.0.0.1", servers["exim-default"].port)
    assert report.verdict == "closed"
    refused_senders = [a for a in report.attempts if a.outcome == "sender_refused"]
    assert [a.sender for a in refused_senders] == ["probe@[127.0.0.1]"]
    assert "domain literals not allowed" in refused_senders[0].reply
    replaced = [a for a in report.attempts if a.instead_of == "probe@[127.0.0.1]"]
    assert len(replaced) == 12 and all(a.code for a in replaced)  # each recipient form was still tried
    assert report.connections >= 2  # Exim hangs up after too many syntax errors; the probe called again
    assert not report.error


@pytest.mark.parametrize("case", _cases(nmap_missing()))
def test_nmap_agrees_with_the_probe_except_where_nmap_is_known_to_be_wrong(settings, servers, case):
    port = servers[case.name].port
    ours = relay_probe.probe("127.0.0.1", port).verdict
    nmap = run_nmap(port, settings.PORTAL_SMTP_PROBE_DOMAIN)
    assert ours == case.verdict
    if case.name in NMAP_IS_WRONG:
        assert nmap.verdict != case.verdict, f"nmap got {case.name} right now: {nmap.output}"
    else:
        assert nmap.verdict == ours, (NMAP_IS_WRONG.get(case.name), nmap.output)
