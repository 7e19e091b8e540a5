"""ARF reports (RFC 5965) on realistic samples: each accepted or rejected with a reason, nothing lost."""

import base64
import json
import mailbox
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from abuse import formats, intake
from abuse.models import AbuseReport, RejectedReport
from abuse.reports import Unreadable
from accounts.models import Account
from tests.abuse_samples import backdate_addresses, fbl_report, sample
from tests.conftest import CUSTOMER_IPS, OTHER_IPS

pytestmark = pytest.mark.django_db  # the Received-chain rule asks the inventory


def _read(raw: bytes):
    (report,) = formats.read(raw).reports
    return report


def _ingest(raw: bytes, reporter=None):
    (result,) = intake.ingest(raw, reporter=reporter)
    return result


def test_the_rfc_simple_example_has_no_source_ip_so_the_received_header_gives_it():
    report = _read(sample("rfc5965-simple.eml"))

    assert (report.category, report.source_ip) == ("spam", "192.0.2.1")
    assert report.occurred_at == datetime(2005, 3, 8, 18, 0, tzinfo=UTC)  # Received: 14:00 -0400
    assert report.original_message_id == "8787KJKJ3K4J3K4J3K4J3.mail@example.net"
    assert "Source-IP" in " ".join(report.evidence["notes"])


def test_the_rfc_complete_example_gives_every_field():
    report = _read(sample("rfc5965-complete.eml"))

    assert (report.category, report.source_ip) == ("spam", "192.0.2.1")
    assert report.occurred_at == datetime(2005, 3, 8, 18, 0, tzinfo=UTC)  # Arrival-Date, EDT
    assert report.reported_domain == "example.net"
    assert report.original_mail_from == "<somespammer@example.net>"
    feedback = report.evidence["feedback_report"]
    assert feedback["reported-uri"] == ["http://example.net/earn_money.html", "mailto:user@example.com"]
    assert feedback["reporting-mta"] == ["dns; mail.example.com"]
    # The RFC's own example ends the original's header after Received (a blank line follows it).
    assert report.original_headers.startswith("From: somespammer@example.net\nReceived: from mailserver")


def test_a_feedback_loop_report_with_source_ip():
    report = _read(sample("fbl-source-ip.eml"))

    assert (report.category, report.source_ip) == ("spam", "198.51.100.7")
    assert report.occurred_at == datetime(2026, 11, 20, 9, 58, 3, tzinfo=UTC)
    assert report.reference == "<fbl-20261120101542-7731@isp.example>"
    assert report.original_message_id == "<20261120095758.8812@news.acme-shop.example>"
    assert report.original_mail_from == "<bounce-8812@news.acme-shop.example>"
    assert "Subject: Black Friday: 70% off everything" in report.original_headers
    assert report.evidence["notes"] == []


def test_without_source_ip_the_first_outside_hop_of_the_received_chain_is_the_sender():
    """The top Received header is the reporter's internal hop (10.20.0.5): it is not the sender."""
    report = _read(sample("fbl-no-source-ip.eml"))

    assert report.source_ip == "198.51.100.7"
    assert report.occurred_at == datetime(2026, 11, 20, 18, 40, 19, tzinfo=UTC)  # Received-Date, -0800
    assert "Received headers" in " ".join(report.evidence["notes"])


def test_the_original_may_be_attached_as_rfc822_headers_only():
    report = _read(sample("fbl-rfc822-headers.eml"))

    assert report.source_ip == "2001:db8::7"
    assert report.evidence["original_part"] == "text/rfc822-headers"
    assert report.original_message_id == "<a1b2c3@acme-shop.example>"
    assert "Subject: Your account needs attention" in report.original_headers


def test_a_wrong_charset_is_read_anyway_and_said():
    report = _read(sample("wrong-charset.eml"))

    assert report.source_ip == "198.51.100.7"
    assert "x-euro-ascii" in " ".join(report.evidence["notes"])
    assert "\ufffd" in report.evidence["summary"]  # latin-1 bytes read as UTF-8
    assert "Subject: Soldes d" in report.original_headers


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (sample("not-arf.eml"), "Not a report format we read"),
        (fbl_report(feedback_type="not-spam"), "not a complaint"),
        (sample("fbl-source-ip.eml").replace(b"Feedback-Type: abuse\n", b""), "no Feedback-Type"),
        (
            sample("fbl-no-source-ip.eml").replace(b"Content-Type: message/rfc822", b"Content-Type: text/plain"),
            "no sending address",
        ),
        (fbl_report(at=datetime(2099, 1, 1, tzinfo=UTC)), "in the future"),
        (b"", "Not a report format we read"),
    ],
    ids=["not-arf", "not-spam", "no-feedback-type", "no-original", "future", "empty"],
)
def test_unusable_reports_are_refused_with_a_reason(raw, reason):
    with pytest.raises(Unreadable, match=reason):
        _read(raw)


def test_a_report_with_a_huge_attachment_is_rejected_and_its_head_kept(db, settings):
    settings.PORTAL_ABUSE_MAX_REPORT_BYTES = 200_000
    attachment = base64.encodebytes(b"\x89PNG" + bytes(range(256)) * 2_000).decode()  # about 700 kB
    boundary = b"------=_Part_7731_1605867342--"
    part = (
        "------=_Part_7731_1605867342\nContent-Type: image/png; name=invoice.png\n"
        f"Content-Transfer-Encoding: base64\n\n{attachment}\n"
    ).encode()
    raw = fbl_report().replace(boundary, part + boundary)

    result = _ingest(raw, reporter=None)

    assert result.status == intake.REJECTED
    assert "above the limit of 200000" in result.reason
    kept = RejectedReport.objects.get()
    assert kept.size == len(raw) and bytes(kept.raw) == raw[:200_000]


@pytest.mark.parametrize(
    "name",
    [
        "rfc5965-simple.eml",
        "rfc5965-complete.eml",
        "fbl-no-source-ip.eml",
        "fbl-rfc822-headers.eml",
        "wrong-charset.eml",
    ],
)
def test_every_accepted_report_keeps_its_raw_message_unchanged(db, name):
    result = _ingest(sample(name), reporter=None)

    assert result.status == intake.UNMATCHED, result
    assert bytes(AbuseReport.objects.get(pk=result.report_id).raw) == sample(name)


@pytest.mark.parametrize("name", ["not-arf.eml"])
def test_every_rejected_report_is_kept_raw_with_its_reason(db, name):
    result = _ingest(sample(name), reporter=None)

    kept = RejectedReport.objects.get(pk=result.rejected_id)
    assert bytes(kept.raw) == sample(name)
    assert kept.reason == result.reason != ""


def _run_ingest(*paths) -> list[dict]:
    out = StringIO()
    call_command("ingest_abuse", *map(str, paths), "--json", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_ingest_abuse_reads_an_mbox_and_prints_each_message_status(tmp_path, account):
    backdate_addresses(account, datetime(2026, 1, 1, tzinfo=UTC))
    box = mailbox.mbox(tmp_path / "feedback.mbox")
    for name in ["fbl-source-ip.eml", "fbl-source-ip.eml", "not-arf.eml", "rfc5965-simple.eml"]:
        box.add(sample(name))
    box.flush()

    lines = _run_ingest(tmp_path / "feedback.mbox")

    assert [(line["status"], line["source_ip"], line["account"]) for line in lines] == [
        ("accepted", CUSTOMER_IPS[0], str(account.reference)),
        ("duplicate", CUSTOMER_IPS[0], str(account.reference)),
        ("rejected", None, None),
        ("unmatched", "192.0.2.1", None),
    ]
    assert lines[2]["reason"].startswith("Not a report format we read")
    assert [line["file"] for line in lines] == [f"{tmp_path / 'feedback.mbox'}#{n}" for n in (1, 2, 3, 4)]
    assert AbuseReport.objects.get(account=account).deliveries == 2, "a second delivery counts once"


def test_ingest_abuse_reads_a_maildir_and_eml_files(tmp_path, account, other_customer):
    other = Account.objects.get(memberships__user=other_customer)
    for held in (account, other):
        backdate_addresses(held, datetime(2026, 1, 1, tzinfo=UTC))
    maildir = mailbox.Maildir(tmp_path / "fbl")
    maildir.add(sample("fbl-no-source-ip.eml"))
    maildir.add(sample("truncated.eml"))
    eml = tmp_path / "one.eml"
    eml.write_bytes(fbl_report(OTHER_IPS[0], number=2))

    lines = _run_ingest(tmp_path / "fbl", eml)

    # truncated.eml is a second delivery of fbl-source-ip's incident, cut off inside the original
    assert sorted(line["status"] for line in lines) == ["accepted", "accepted", "accepted"]
    assert {line["account"] for line in lines} == {str(account.reference), str(other.reference)}
    assert not RejectedReport.objects.exists()


def test_ingest_abuse_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("ingest_abuse", str(tmp_path / "nope.mbox"))


def test_a_message_the_parser_chokes_on_is_kept_with_the_error(db, monkeypatch):
    def choke(raw):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(formats.arf, "parse", choke)

    result = _ingest(sample("fbl-source-ip.eml"), reporter=None)

    assert (result.status, result.reason) == (intake.REJECTED, "The message could not be read (RecursionError).")
    assert bytes(RejectedReport.objects.get().raw) == sample("fbl-source-ip.eml")
