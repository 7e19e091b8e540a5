"""Every format reporters send, on samples written after the RFCs, the specifications and real
reports in public corpora: each sample's status, source address, category and the rule that found it.
"""

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from abuse import formats, intake, redaction
from abuse.models import AbuseReport, RejectedReport
from accounts.models import Account
from tests.abuse_samples import backdate_addresses, fbl_report, sample

pytestmark = pytest.mark.django_db

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)

# sample: (format, [(status, source_ip, category, rule, certainty), ...])
CORPUS = {
    "rfc5965-simple.eml": ("arf", [("unmatched", "192.0.2.1", "spam", "outside_hop", "low")]),
    "rfc5965-complete.eml": ("arf", [("unmatched", "192.0.2.1", "spam", "declared", "high")]),
    "fbl-source-ip.eml": ("arf", [("accepted", "198.51.100.7", "spam", "declared", "high")]),
    "fbl-no-source-ip.eml": ("arf", [("accepted", "198.51.100.7", "spam", "outside_hop", "low")]),
    "fbl-rfc822-headers.eml": ("arf", [("accepted", "2001:db8::7", "spam", "declared", "high")]),
    "wrong-charset.eml": ("arf", [("accepted", "198.51.100.7", "spam", "declared", "high")]),
    "truncated.eml": ("arf", [("accepted", "198.51.100.7", "spam", "declared", "high")]),
    "arf-oddities-crlf.eml": ("arf", [("accepted", "198.51.100.7", "spam", "declared", "high")]),
    "arf-reporter-relay.eml": ("arf", [("unmatched", "192.0.2.55", "spam", "outside_hop", "low")]),
    "x-arf-login-attack.eml": ("x-arf", [("accepted", "198.51.100.7", "compromised", "declared", "high")]),
    "x-arf-blocklist-yaml.eml": ("x-arf", [("accepted", "198.51.100.7", "compromised", "declared", "high")]),
    "x-arf-pyxarf.eml": ("x-arf", [("accepted", "2001:db8::7", "compromised", "declared", "high")]),
    "x-arf-spam-two-sources.eml": (
        "x-arf",
        [
            ("accepted", "198.51.100.7", "spam", "declared", "high"),
            ("accepted", "198.51.100.8", "spam", "declared", "high"),
        ],
    ),
    "xarf4-spamtrap.json": ("xarf4", [("accepted", "198.51.100.7", "spamtrap", "declared", "high")]),
    "xarf4-attached.eml": ("xarf4", [("accepted", "2001:db8::7", "phishing", "declared", "high")]),
    "jmrp-complaint.eml": ("jmrp", [("accepted", "198.51.100.7", "spam", "declared", "high")]),
    "spamcop-report.eml": ("spamcop", [("accepted", "198.51.100.7", "spam", "declared", "high")]),
    "spamcop-digest.eml": (
        "spamcop",
        [
            ("accepted", "198.51.100.7", "spam", "declared", "high"),
            ("accepted", "198.51.100.8", "spam", "declared", "high"),
        ],
    ),
    "spamhaus-sbl.eml": ("spamhaus", [("accepted", "198.51.100.7", "spam", "declared", "high")]),
}


@pytest.fixture
def held(account, other_customer):
    """The customers have held their addresses (198.51.100.7, 2001:db8::7; 198.51.100.8) all year."""
    for holder in (account, Account.objects.get(memberships__user=other_customer)):
        backdate_addresses(holder, LONG_AGO)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_sample_is_read_by_its_parser(held, name):
    expected_format, expected = CORPUS[name]

    assert formats.read(sample(name)).format == expected_format
    results = intake.ingest(sample(name), reporter=None)

    found = []
    for result in results:
        report = AbuseReport.objects.get(pk=result.report_id)
        found.append((result.status, report.source_ip, report.category, report.source_rule, report.source_certainty))
        assert report.format == expected_format
        assert report.raw_message() == sample(name), "the raw message is kept as received"
        if len(results) > 1:
            assert report.evidence["report_in_message"][1] == len(results)
    assert found == expected
    kept = [bytes(report.raw) for report in AbuseReport.objects.filter(pk__in=[r.report_id for r in results])]
    assert kept.count(sample(name)) == 1, "one message, kept once, whatever the number of its reports"


def test_the_outside_hop_rule_skips_the_reporters_own_relays_with_public_addresses(db):
    """Nobody holds the addresses: the first hop into mailbox-provider.example (as configured) is the forwarder."""
    (report,) = formats.read(sample("arf-reporter-relay.eml"), frozenset({"mailbox-provider.example"})).reports

    assert (report.source_ip, report.source_rule, report.source_certainty) == ("192.0.2.55", "outside_hop", "medium")
    assert "mailbox-provider.example" in " ".join(report.evidence["notes"])


def test_our_address_below_the_reporters_servers_is_a_note_never_the_source(held):
    """The forwarder wrote the line naming 198.51.100.7, and anyone can write such a line (issue 23)."""
    (report,) = formats.read(sample("arf-reporter-relay.eml")).reports

    assert (report.source_ip, report.source_rule) == ("192.0.2.55", "outside_hop")
    assert "198.51.100.7 below the reporter's servers was one of our addresses" in " ".join(report.evidence["notes"])


def test_the_note_on_our_addresses_asks_for_the_messages_time(account):
    """The address was the customer's only from 2026-11-23 on: a message of the 22nd is not theirs."""
    backdate_addresses(account, datetime(2026, 11, 23, tzinfo=UTC))

    (report,) = formats.read(sample("arf-reporter-relay.eml")).reports

    assert (report.source_ip, report.source_rule) == ("192.0.2.55", "outside_hop")
    assert "198.51.100.7" not in " ".join(report.evidence["notes"])


def test_field_hygiene_header_case_comment_version_charset_base64_qp_crlf_and_a_zone_that_is_no_zone(db):
    (report,) = formats.read(sample("arf-oddities-crlf.eml")).reports

    assert report.source_ip == "198.51.100.7"  # "source-ip: 198.51.100.7 (mail.acme-shop.example)"
    assert report.occurred_at == datetime(2026, 11, 20, 10, 58, 3, tzinfo=UTC)  # +2575 is no zone: read as UTC
    assert any("no valid time zone" in note for note in report.evidence["notes"])
    assert report.evidence["summary"].startswith("Rapport de plainte : un abonné")  # base64, iso-8859-1
    assert report.original_message_id == "<odd-1@news.acme-shop.example>"
    assert report.evidence["feedback_report"]["version"] == ["0.1"]


@pytest.mark.parametrize(
    "written",
    ["2001:db8::7", "2001:DB8:0:0:0:0:0:7", "2001:0db8:0000:0000:0000:0000:0000:0007", "[IPv6:2001:db8::7]"],
)
def test_ipv6_in_every_written_form_is_the_inventorys_form(db, written):
    (report,) = formats.read(fbl_report(ip=written)).reports

    assert report.source_ip == "2001:db8::7"


def test_an_ipv4_mapped_ipv6_source_is_the_ipv4_address(db):
    (report,) = formats.read(fbl_report(ip="::ffff:198.51.100.7")).reports

    assert report.source_ip == "198.51.100.7"


@pytest.mark.parametrize(
    ("mangle", "defect"),
    [
        (lambda raw: raw.replace(b"------=_Part_7731_1605867342--", b""), "CloseBoundaryNotFoundDefect"),
        (
            lambda raw: raw.replace(b'boundary="----=_Part_7731_1605867342"', b'boundary="elsewhere"'),
            "StartBoundaryNotFoundDefect",
        ),
        (
            lambda raw: raw.replace(b"Content-Disposition: inline\n", b"Content-Disposition inline\n"),
            "MissingHeaderBodySeparatorDefect",
        ),
    ],
    ids=["no-close-boundary", "no-start-boundary", "no-header-body-separator"],
)
def test_mime_defects_are_noted_on_the_report_not_fatal(held, mangle, defect):
    """The defects real feedback loops were refused for (issue #13), each with a readable feedback part."""
    raw = mangle(fbl_report(at=datetime(2026, 11, 20, 9, 58, 3, tzinfo=UTC)))

    (result,) = intake.ingest(raw, reporter=None)

    assert result.status == intake.ACCEPTED, result
    report = AbuseReport.objects.get(pk=result.report_id)
    assert report.source_ip == "198.51.100.7" and bytes(report.raw) == raw
    assert defect in report.evidence["mime_defects"]


def test_a_message_whose_needed_fields_are_unreadable_is_rejected_and_kept(db):
    raw = fbl_report().split(b"Content-Type: message/feedback-report")[0]

    (result,) = intake.ingest(raw, reporter=None)

    assert result.status == intake.REJECTED
    assert "feedback" in result.reason
    assert bytes(RejectedReport.objects.get().raw) == raw


@pytest.mark.parametrize(
    "ip", ["10.1.2.3", "192.168.0.9", "127.0.0.1", "100.64.0.1", "fe80::1", "fd00::7", "240.0.0.1"]
)
def test_a_private_or_reserved_source_is_never_matched(db, customer, ip):
    from accounts.models import ServerAddress

    ServerAddress.objects.filter(ip="198.51.100.7").update(ip=ip, assigned_at=LONG_AGO)

    (result,) = intake.ingest(fbl_report(ip=ip), reporter=None)

    assert (result.status, result.source_ip) == (intake.UNMATCHED, ip)
    report = AbuseReport.objects.get(pk=result.report_id)
    assert report.account_id is None and report.matched_at is not None
    assert "private or reserved" in result.reason and "private or reserved" in " ".join(report.evidence["notes"])


def test_an_mbox_from_line_is_the_files_not_the_messages(held):
    raw = b"From fbl@isp.example Fri Nov 20 10:15:42 2026\n" + fbl_report(number=7)

    (result,) = intake.ingest(raw, reporter=None)

    assert result.status == intake.ACCEPTED


def test_ingest_abuse_takes_a_xarf_json_file_with_the_same_json_output(held, tmp_path):
    path = tmp_path / "report.json"
    path.write_bytes(sample("xarf4-spamtrap.json"))
    out = StringIO()

    call_command("ingest_abuse", str(path), "--json", stdout=out)

    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert (line["file"], line["status"], line["source_ip"]) == (str(path), "accepted", "198.51.100.7")
    assert AbuseReport.objects.get(pk=line["report"]).category == "spamtrap"


def test_unknown_words_map_to_other_and_not_spam_is_no_complaint(db):
    (report,) = formats.read(fbl_report(feedback_type="opt-out")).reports
    assert report.category == "other"
    with pytest.raises(formats.Unreadable, match="not a complaint"):
        formats.read(fbl_report(feedback_type="not-spam"))


# Who complained, in the samples: recipients, trap addresses and the reporters' own mailboxes' users.
RECIPIENTS = [
    "c2b1a9@isp.example",
    "trap17@trapnet.example",
    "removed@hotmail.example",
    "someone@laposte-fbl.example",
    "user@example.com",
]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_sample_shows_the_customer_who_complained(held, name):
    """Every format's stored report goes through the one redaction (abuse.redaction) unchanged."""
    for result in intake.ingest(sample(name), reporter=None):
        shown = json.dumps(redaction.customer_view(AbuseReport.objects.get(pk=result.report_id)), default=str)
        assert not [address for address in RECIPIENTS if address in shown]


def test_the_admin_shows_each_report_of_a_digest_its_one_raw_message(held, admin_client):
    first, second = intake.ingest(sample("spamcop-digest.eml"), reporter=None)

    page = admin_client.get(f"/admin/abuse/abusereport/{second.report_id}/change/").content.decode()

    assert f"Kept with report #{first.report_id}" in page
    assert "summary_7012399001@msgid.spamcop.net" in page
