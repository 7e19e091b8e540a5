"""DMARC (RFC 7489, organisational domain from the Public Suffix List) and MX (null MX, RFC 7505)."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.check_fixtures import make_subject
from tests.loopback import free_port
from verification.checks import dmarc, domain_auth, reverse_dns
from verification.outcome import Deadline, Verdict

pytestmark = pytest.mark.usefixtures("checks_env")

SPF_OK = '"v=spf1 ip4:127.0.0.1 -all"'
ZONE = "\n".join(
    [
        # A co.uk-style registry: the policy of shop.example.co.uk is at example.co.uk, never at co.uk.
        f"shop.example.co.uk. 60 IN TXT {SPF_OK}",
        "shop.example.co.uk. 60 IN MX 10 mx.example.co.uk.",
        '_dmarc.example.co.uk. 60 IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:d@example.co.uk"',
        '_dmarc.co.uk. 60 IN TXT "v=DMARC1; p=none"',
        # A subdomain without sp= inherits p=.
        f"news.dmarc-org.example. 60 IN TXT {SPF_OK}",
        "news.dmarc-org.example. 60 IN MX 10 mx.dmarc-org.example.",
        '_dmarc.dmarc-org.example. 60 IN TXT "v=DMARC1; p=quarantine; pct=100"',
        *[
            f'_dmarc.{name}.dmarc.test. 60 IN TXT "{record}"'
            for name, record in [
                ("pct", "v=DMARC1; p=reject; pct=20"),
                ("badp", "v=DMARC1; p=block"),
                ("nop", "v=DMARC1; rua=mailto:d@dmarc.test"),
                ("notfirst", "p=reject; v=DMARC1"),
                ("badpct", "v=DMARC1; p=reject; pct=150"),
                ("badrua", "v=DMARC1; p=reject; rua=d@dmarc.test"),
                ("unknown", "v=DMARC1; p=reject; foo=bar"),
                ("none", "v=DMARC1; p=none; rua=mailto:d@dmarc.test"),
            ]
        ],
        '_dmarc.two.dmarc.test. 60 IN TXT "v=DMARC1; p=reject"',
        '_dmarc.two.dmarc.test. 60 IN TXT "v=DMARC1; p=none"',
        # Null MX (RFC 7505)
        f"nullmx.example.org. 60 IN TXT {SPF_OK}",
        "nullmx.example.org. 60 IN MX 0 .",
        '_dmarc.nullmx.example.org. 60 IN TXT "v=DMARC1; p=reject"',
    ]
)


@pytest.fixture(scope="module", autouse=True)
def dmarc_zone(check_zone):
    check_zone.resolver.add(ZONE)


def policy(domain: str) -> dmarc.DmarcPolicy:
    return dmarc.lookup(reverse_dns.resolver_for(Deadline(5)), domain)


def auth(domain: str):
    return domain_auth.check(make_subject(sending_domain=domain), Deadline(5))


@pytest.mark.parametrize(
    ("domain", "organizational"),
    [
        ("shop.example.co.uk", "example.co.uk"),
        ("a.b.shop.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("mail.acme-mail.example.org", "example.org"),
        ("news.dmarc-org.example", "dmarc-org.example"),  # a suffix the list does not know: the last label
    ],
)
def test_organizational_domain_comes_from_the_public_suffix_list(domain, organizational):
    assert dmarc.organizational_domain(domain) == organizational


def test_a_co_uk_subdomain_takes_the_organisational_record_and_its_sp():
    found = policy("shop.example.co.uk")
    assert (found.found_at, found.organizational_domain) == ("example.co.uk", "example.co.uk")
    assert (found.policy, found.applied_policy) == ("reject", "quarantine")
    facts = found.as_dict()
    assert facts["alignment"] == {"dkim": "strict", "spf": "relaxed"}
    assert facts["pct"] == 100
    outcome = auth("shop.example.co.uk")
    assert outcome.verdict == Verdict.PASS, outcome.summary
    assert outcome.evidence["dmarc"]["policy"] == "quarantine"


def test_a_subdomain_without_sp_inherits_p():
    assert policy("news.dmarc-org.example").applied_policy == "quarantine"


def test_the_domains_own_record_comes_first():
    found = policy("acme-mail.example.org")
    assert (found.found_at, found.policy) == ("acme-mail.example.org", "reject")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("badp", "p=block is not a valid value"),
        ("nop", "the required p= tag is missing"),
        ("notfirst", "must start with v=DMARC1"),
        ("badpct", "pct=150 is not a valid value"),
        ("badrua", "rua=d@dmarc.test is not a valid value"),
        ("two", "publishes 2 DMARC records"),
    ],
)
def test_invalid_records_fail_with_what_is_wrong(name, error):
    outcome = auth(f"{name}.dmarc.test")
    assert outcome.evidence["dmarc"]["verdict"] == Verdict.FAIL
    assert error in outcome.evidence["dmarc"]["summary"]


def test_unknown_tags_are_ignored_as_the_rfc_says():
    found = policy("unknown.dmarc.test")
    assert found.valid and found.unknown_tags == ["foo"]


@pytest.mark.parametrize(("name", "words"), [("none", "“none” (monitoring only)"), ("pct", "20% of failing mail")])
def test_weak_policies_warn(name, words):
    part = auth(f"{name}.dmarc.test").evidence["dmarc"]
    assert part["verdict"] == Verdict.WARN
    assert words in part["summary"]


def test_no_record_anywhere_warns_naming_the_organisational_domain():
    part = auth("spf-none.example.org").evidence["dmarc"]
    assert part["verdict"] == Verdict.WARN
    assert "nor has example.org" in part["summary"]


def test_null_mx_on_a_sending_domain_warns_that_bounces_cannot_come_back():
    outcome = auth("nullmx.example.org")
    assert outcome.verdict == Verdict.WARN
    mx = outcome.evidence["mx"]
    assert mx["null_mx"] is True and mx["hosts"] == ["0 ."]
    assert "null MX" in outcome.summary and "bounces" in outcome.summary


def test_check_domain_prints_one_json_object(capsys):
    call_command("check_domain", "shop.example.co.uk", "--ip", "127.0.0.1", "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["domain"], report["ip"]) == ("shop.example.co.uk", "127.0.0.1")
    assert report["spf"]["result"] == "pass"
    assert report["spf"]["record"] == "v=spf1 ip4:127.0.0.1 -all"
    assert report["spf"]["lookups"] == 0
    assert report["dmarc"]["organizational_domain"] == "example.co.uk"
    assert report["dmarc"]["policy"] == "quarantine"
    assert report["dmarc"]["record"].startswith("v=DMARC1; p=reject")
    assert report["mx"] == {"verdict": "pass", "summary": report["mx"]["summary"], "hosts": ["10 mx.example.co.uk"],
                            "null_mx": False}  # fmt: skip


def test_check_domain_text_and_exit_zero_for_a_failing_domain(capsys):
    call_command("check_domain", "nullmx.example.org", "--ip", "192.0.2.1")
    out = capsys.readouterr().out
    assert "SPF   fail" in out
    assert "(null MX)" in out


def test_check_domain_exits_zero_when_dns_does_not_answer(settings, capsys):
    settings.PORTAL_DNS_NAMESERVERS = [f"127.0.0.1:{free_port()}"]
    settings.PORTAL_DNS_TIMEOUT = 0.3
    call_command("check_domain", "shop.example.co.uk", "--ip", "127.0.0.1", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "error"
    assert report["spf"]["result"] == "temperror"
    assert report["mx"]["hosts"] == []


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["shop.example.co.uk", "--ip", "300.1.1.1"], "not an IPv4 or IPv6 address"),
        (["not a domain", "--ip", "192.0.2.1"], "spaces or invisible characters"),
        (["localhost", "--ip", "192.0.2.1"], "internal name"),
    ],
)
def test_check_domain_refuses_bad_arguments(arguments, words):
    with pytest.raises(CommandError, match=words):
        call_command("check_domain", *arguments)
