"""IP and domain blocklists on the loopback DNS server: listings, policy listings, error codes, test points."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.check_fixtures import make_subject
from verification.checks import dnsbl
from verification.outcome import Deadline, Verdict

pytestmark = pytest.mark.usefixtures("checks_env")


def by_zone(report: dict) -> dict:
    return {r["zone"]: r for r in report["results"]}


def ip_check(ip: str):
    return dnsbl.check_ip(make_subject(mail_server_ip=ip), Deadline(5))


def test_clean_address_passes():
    outcome = ip_check("127.0.0.1")
    assert outcome.verdict == Verdict.PASS
    assert {r["status"] for r in outcome.evidence["results"]} == {"not_listed"}


def test_listed_address_fails_with_the_meaning_and_the_lists_reason():
    outcome = ip_check("127.0.0.9")
    assert outcome.verdict == Verdict.FAIL
    assert "zen.spamhaus.org" in outcome.summary
    zen = by_zone(outcome.evidence)["zen.spamhaus.org"]
    assert zen["codes"] == ["127.0.0.2"]
    assert zen["meanings"] == ["SBL: Spamhaus blocklist (spam source)"]
    assert zen["reasons"][0].startswith("https://check.spamhaus.org/")


def test_pbl_is_a_policy_listing_not_spam():
    outcome = ip_check("127.0.0.10")
    assert outcome.verdict == Verdict.WARN
    zen = by_zone(outcome.evidence)["zen.spamhaus.org"]
    assert zen["status"] == "listed" and zen["policy"] is True


def test_spamhaus_error_code_is_an_error_not_a_listing():
    outcome = ip_check("127.0.0.11")
    assert outcome.verdict == Verdict.ERROR
    zen = by_zone(outcome.evidence)["zen.spamhaus.org"]
    assert zen["status"] == "error"
    assert "public or open resolver" in zen["meanings"][0]


def test_ipv6_uses_nibble_format_and_skips_ipv4_only_lists():
    outcome = ip_check("2001:db8::99")
    zones = by_zone(outcome.evidence)
    assert zones["zen.spamhaus.org"]["status"] == "listed"
    assert zones["zen.spamhaus.org"]["meanings"] == ["SBL CSS: snowshoe spam source"]
    assert zones["bl.spamcop.net"]["status"] == "not_listed"
    assert zones["bl.spamcop.net"]["meanings"] == ["this list covers IPv4 only"]


@pytest.mark.parametrize(
    ("zone", "words"),
    [
        ("broken.dnsbl.example.org", "test point 127.0.0.2 is not listed"),
        ("everything.dnsbl.example.org", "lists everything"),
        ("refusing.dnsbl.example.org", "refused"),
        ("silent.dnsbl.example.org", "did not answer in time"),
        ("sbl.spamhaus.org", "public or open resolver"),
    ],
)
def test_zone_failing_its_test_points_is_an_error_for_that_zone(settings, zone, words):
    settings.PORTAL_DNS_TIMEOUT = 0.3
    settings.PORTAL_DNSBL_ZONES = ["zen.spamhaus.org", zone]
    outcome = ip_check("127.0.0.1")
    zones = by_zone(outcome.evidence)
    assert zones["zen.spamhaus.org"]["status"] == "not_listed"
    assert zones[zone]["status"] == "error"
    assert words in zones[zone]["meanings"][0]
    assert outcome.verdict == Verdict.ERROR  # never a pass while a list could not be asked


def test_healthy_zone_is_remembered(settings, check_zone):
    ip_check("127.0.0.1")
    check_zone.resolver.refused.add("bl.spamcop.net.")
    try:
        assert ip_check("127.0.0.1").verdict == Verdict.ERROR  # the real query is refused...
        zones = by_zone(ip_check("127.0.0.1").evidence)
        assert "test point" not in zones["bl.spamcop.net"]["meanings"][0]  # ...not the cached test points
    finally:
        check_zone.resolver.refused.discard("bl.spamcop.net.")


def test_domain_lists_cover_sending_domain_website_and_template_links():
    subject = make_subject(
        email_template='<a href="https://spammy.example.org/x">deal</a> <a href="https://grey.example.org">more</a>'
    )
    assert dnsbl.subject_domains(subject) == [
        "acme-mail.example.org",
        "spammy.example.org",
        "grey.example.org",
    ]
    outcome = dnsbl.check_domains(subject, Deadline(5))
    assert outcome.verdict == Verdict.FAIL
    listed = [(r["zone"], r["target"]) for r in outcome.evidence["results"] if r["status"] == "listed"]
    assert ("dbl.spamhaus.org", "spammy.example.org") in listed
    assert ("multi.uribl.com", "grey.example.org") in listed
    assert "phishing domain" in outcome.summary


def test_uribl_grey_alone_is_a_policy_listing():
    subject = make_subject(email_template="https://grey.example.org/")
    assert dnsbl.check_domains(subject, Deadline(5)).verdict == Verdict.WARN


def test_check_reputation_command_for_an_ip(capsys):
    call_command("check_reputation", "127.0.0.9", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["target"] == "127.0.0.9"
    zen = by_zone(report)["zen.spamhaus.org"]
    assert (zen["status"], zen["codes"]) == ("listed", ["127.0.0.2"])
    assert zen["meanings"]
    assert by_zone(report)["bl.spamcop.net"]["status"] == "not_listed"


def test_check_reputation_command_for_a_domain(capsys):
    call_command("check_reputation", "spammy.example.org")
    out = capsys.readouterr().out
    assert "dbl.spamhaus.org" in out and "listed" in out and "127.0.1.4" in out


@pytest.mark.parametrize("target", ["10.0.0.1", "localhost", "0x7f000001", "[::ffff:127.0.0.1]", "printer.local"])
def test_check_reputation_command_refuses_internal_targets(settings, target):
    settings.PORTAL_CHECK_ALLOW_NETWORKS = []
    with pytest.raises(CommandError):
        call_command("check_reputation", target)
