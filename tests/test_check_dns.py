"""Reverse DNS and SPF / DMARC / MX checks, answered by the loopback DNS server."""

import pytest

from tests.check_fixtures import make_subject
from verification.checks import domain_auth, reverse_dns
from verification.outcome import Deadline, Verdict

pytestmark = pytest.mark.usefixtures("checks_env")


def rdns(**subject):
    return reverse_dns.check(make_subject(**subject), Deadline(5))


def auth(domain: str, ip: str = "127.0.0.1"):
    return domain_auth.check(make_subject(sending_domain=domain, mail_server_ip=ip), Deadline(5))


def test_forward_confirmed_reverse_dns_passes():
    outcome = rdns()
    assert outcome.verdict == Verdict.PASS
    assert outcome.evidence["forward_confirmed"] == ["mail.acme-mail.example.org"]


def test_missing_ptr_fails_with_how_to_fix():
    outcome = rdns(mail_server_ip="127.0.0.2")
    assert outcome.verdict == Verdict.FAIL
    assert "no reverse DNS" in outcome.summary
    assert "mail.acme-mail.example.org" in outcome.summary


def test_ptr_that_does_not_point_back_fails():
    outcome = rdns(mail_server_ip="127.0.0.3")
    assert outcome.verdict == Verdict.FAIL
    assert "does not point back" in outcome.summary


def test_generic_ptr_warns():
    outcome = rdns(mail_server_ip="127.0.0.4")
    assert outcome.verdict == Verdict.WARN
    assert outcome.evidence["generic"] is True


def test_ptr_other_than_the_declared_name_warns():
    outcome = rdns(mail_server_ip="127.0.0.5")
    assert outcome.verdict == Verdict.WARN
    assert "other.acme-mail.example.org" in outcome.summary


@pytest.mark.parametrize(
    ("name", "ip", "generic"),
    [
        ("198-51-100-7.pool.example.net", "198.51.100.7", True),
        ("7.100.51.198.example.net", "198.51.100.7", True),
        ("dynamic-42.isp.example.net", "198.51.100.7", True),
        ("c6336407.example.net", "198.51.100.7", True),
        ("mail.example.org", "198.51.100.7", False),
        ("smtp1.example.org", "198.51.100.7", False),
    ],
)
def test_generic_name_rules(name, ip, generic):
    assert reverse_dns.looks_generic(name, ip) is generic


def test_resolver_that_does_not_answer_is_an_error(settings):
    settings.PORTAL_DNS_NAMESERVERS = ["127.0.0.1:9"]
    settings.PORTAL_DNS_TIMEOUT = 0.3
    assert rdns().verdict == Verdict.ERROR
    assert auth("acme-mail.example.org").verdict == Verdict.ERROR


def test_spf_dmarc_and_mx_in_order_pass():
    outcome = auth("acme-mail.example.org")
    assert outcome.verdict == Verdict.PASS, outcome.summary
    assert outcome.evidence["spf"]["result"] == "pass"
    assert outcome.evidence["dmarc"]["policy"] == "reject"
    assert outcome.evidence["mx"]["hosts"] == ["10 mail.acme-mail.example.org"]
    assert outcome.evidence["mx"]["null_mx"] is False


def test_spf_include_authorises_but_dmarc_none_and_warns():
    outcome = auth("spf-include.example.org")
    assert outcome.evidence["spf"]["verdict"] == Verdict.PASS
    assert outcome.evidence["spf"]["lookups"] == 1
    assert outcome.verdict == Verdict.WARN
    assert "“none”" in outcome.summary


def test_spf_mx_mechanism_authorises():
    outcome = auth("spf-mx.example.org")
    assert outcome.verdict == Verdict.PASS, outcome.summary


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        ("spf-none.example.org", "no SPF record"),
        ("spf-plusall.example.org", "+all"),
        ("spf-other.example.org", "does not authorise 127.0.0.1"),
        ("spf-many.example.org", "more than 10"),
        ("spf-two.example.org", "more than one SPF record"),
    ],
)
def test_spf_problems_fail(domain, words):
    outcome = auth(domain)
    assert outcome.verdict == Verdict.FAIL
    assert words in outcome.summary


def test_missing_dmarc_and_mx_warn():
    outcome = auth("spf-plusall.example.org")
    assert outcome.evidence["dmarc"]["verdict"] == Verdict.WARN
    assert outcome.evidence["mx"]["verdict"] == Verdict.WARN
