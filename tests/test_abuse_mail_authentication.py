"""Mail to the abuse mailbox weighs only when its reporter is authenticated (issue 23, finding 1).

Messages are signed by OpenDKIM (tests/dkim_signer.py), a signer this project did not write, with
keys in the tests' DNS zone; the feed takes them in as it takes a message from the IMAP folder.
A forged one is kept and shown as unverified, and weighs nothing until a person confirms it.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from abuse import mailbox_feed
from abuse.models import AbuseEvent, AbuseReport, EventKind, Reporter, Revocation
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from tests.abuse_fixtures import fbl_mail
from tests.abuse_samples import backdate_addresses, reporter_with_token
from tests.conftest import CUSTOMER_IPS

VICTIM = CUSTOMER_IPS[0]
OUR_MX = "mx.provider.example"


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_INSTANT_CATEGORIES = ["spamtrap", "malware", "compromised"]
    settings.PORTAL_ABUSE_MAIL_AUTHSERV_IDS = [OUR_MX]


@pytest.fixture
def victim(account, run_after_commit):
    """A customer whose port 25 is open, holding VICTIM for a month."""
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    run_after_commit(lambda: set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok"))
    mail.outbox.clear()
    return account


def feed(run, raw: bytes, uid: int = 1) -> AbuseReport:
    """The mailbox feed takes the message in (as from an IMAP folder); its one report."""
    run(lambda: mailbox_feed.take(raw, "abuse@provider.example/INBOX", 1, uid))
    return AbuseReport.objects.get()


def revoked() -> bool:
    return Revocation.objects.exists()


def test_a_report_signed_by_the_configured_reporter_counts(victim, bigmail, bigmail_signer, run_after_commit):
    report = feed(run_after_commit, bigmail_signer.sign(fbl_mail(VICTIM)))

    assert (report.reporter, report.unverified, report.account) == (bigmail, False, victim)
    assert "valid DKIM signature of bigmail.example" in report.evidence["authentication"]
    assert revoked(), "malware from an authenticated reporter revokes at once"


def test_a_forged_from_without_a_signature_is_kept_unverified_and_weighs_nothing(victim, bigmail, run_after_commit):
    report = feed(run_after_commit, fbl_mail(VICTIM, sender="fbl-noreply@bigmail.example"))

    assert (report.reporter, report.unverified, report.account) == (None, True, victim)
    assert "Unverified" in report.evidence["authentication"]
    assert bytes(report.raw).startswith(b"Return-Path"), "kept raw, as received"
    assert not revoked()


def test_a_body_changed_after_signing_does_not_count(victim, bigmail, bigmail_signer, run_after_commit):
    """The reporter complained about another address; the victim's was written in afterwards."""
    signed = bigmail_signer.sign(fbl_mail("192.0.2.200"))
    report = feed(run_after_commit, signed.replace(b"Source-IP: 192.0.2.200", f"Source-IP: {VICTIM}".encode()))

    assert (report.unverified, report.reporter) == (True, None)
    assert "does not verify" in report.evidence["authentication"]
    assert not revoked()


def test_a_valid_signature_of_a_domain_no_reporter_signs_as_does_not_count(
    victim, bigmail, attacker_signer, run_after_commit
):
    report = feed(run_after_commit, attacker_signer.sign(fbl_mail(VICTIM)))

    assert (report.unverified, report.reporter) == (True, None)
    assert "attacker.example: no reporter signs as it" in report.evidence["authentication"]
    assert not revoked()


def test_a_mail_signed_for_one_reporter_replayed_as_another_does_not_count(
    victim, bigmail, other_isp, bigmail_signer, run_after_commit
):
    signed = bigmail_signer.sign(fbl_mail(VICTIM))
    replayed = b"From: Other ISP <fbl@otherisp.example>\r\n" + signed

    report = feed(run_after_commit, replayed)

    assert (report.unverified, report.reporter) == (True, None), "filed under no reporter, least of all the other"
    assert not revoked()


def test_a_header_added_after_signing_is_not_read_as_signed(victim, bigmail, bigmail_signer, run_after_commit):
    """The signature covers one Content-Type; a second one on top would decide how the report is read."""
    signed = bigmail_signer.sign(fbl_mail(VICTIM))

    report = feed(run_after_commit, b"Subject: complaint about message from " + VICTIM.encode() + b"\r\n" + signed)

    assert report.unverified
    assert "leaves out header fields read from the report: subject" in report.evidence["authentication"]
    assert not revoked()


def test_a_forged_copy_sent_first_does_not_stand_in_for_the_reporters_own_report(
    victim, bigmail, bigmail_signer, run_after_commit
):
    """The same incident, forged before the reporter's signed report arrives: both are kept, the signed one counts."""
    report = fbl_mail(VICTIM)
    run_after_commit(lambda: mailbox_feed.take(b"X-Forged: yes\r\n" + report, "abuse@provider.example/INBOX", 1, 1))
    run_after_commit(lambda: mailbox_feed.take(bigmail_signer.sign(report), "abuse@provider.example/INBOX", 1, 2))

    assert sorted(AbuseReport.objects.values_list("unverified", flat=True)) == [False, True]
    assert revoked()


def test_authentication_results_of_another_authserv_id_are_ignored(victim, bigmail, run_after_commit):
    forged = b"Authentication-Results: mx.attacker.example; dkim=pass header.d=bigmail.example\r\n"

    report = feed(run_after_commit, forged + fbl_mail(VICTIM))

    assert (report.unverified, report.reporter) == (True, None)
    assert not revoked()


def test_a_dkim_pass_of_the_reporters_domain_stamped_by_our_mx_counts(victim, bigmail, run_after_commit):
    stamped = f"Authentication-Results: {OUR_MX}; dkim=pass (2048-bit key) header.d=bigmail.example header.s=fbl\r\n"

    report = feed(run_after_commit, stamped.encode() + fbl_mail(VICTIM))

    assert (report.unverified, report.reporter) == (False, bigmail)
    assert f"our MX {OUR_MX}" in report.evidence["authentication"]
    assert revoked()


def test_only_the_topmost_verdict_of_our_mx_is_read(victim, bigmail, run_after_commit):
    """Our MX stamped `none`; the `pass` below it came with the message, from whoever wrote it."""
    ours = f"Authentication-Results: {OUR_MX}; dkim=none\r\n".encode()
    forged = f"Authentication-Results: {OUR_MX}; dkim=pass header.d=bigmail.example\r\n".encode()

    report = feed(
        run_after_commit,
        ours + b"Received: from x by y; Fri, 20 Nov 2026 10:15:43 +0000\r\n" + forged + fbl_mail(VICTIM),
    )

    assert report.unverified
    assert not revoked()


def test_a_person_confirms_an_unverified_report_and_then_it_counts(
    victim, bigmail, admin_user, admin_client, run_after_commit
):
    report = feed(run_after_commit, fbl_mail(VICTIM))
    page = admin_client.get("/admin/abuse/abusereport/?verified=no").content.decode()
    assert "Unverified: weighs nothing until confirmed" in page

    run_after_commit(
        lambda: admin_client.post("/admin/abuse/abusereport/", {"action": "confirm", "_selected_action": [report.pk]})
    )

    report.refresh_from_db()
    assert report.confirmed_by == admin_user and report.confirmed_at is not None
    assert AbuseEvent.objects.filter(kind=EventKind.CONFIRMED, report=report, account=victim).exists()
    assert revoked(), "confirmed, the malware report revokes"


def test_the_api_path_stays_as_it_was(victim, client):
    """A reporter's token authenticates it, whatever the mail's From says: its reports count as before."""
    reporter, token = reporter_with_token()
    answer = client.post(
        "/api/v1/abuse/arf/",
        fbl_mail(VICTIM, sender="anyone@anywhere.example"),
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert answer.status_code == 202, answer.content
    report = AbuseReport.objects.get()
    assert (report.reporter, report.unverified) == (reporter, False)


def test_a_reporters_domains_are_domains(db):
    reporter = Reporter(name="Typo", signing_domains="bigmail.example\nbig mail!.example", receiving_domains="")

    with pytest.raises(ValidationError, match="big"):
        reporter.full_clean()
    assert Reporter(name="Fine", signing_domains="BigMail.example.\nfbl.other.example").signs_as() == [
        "bigmail.example",
        "fbl.other.example",
    ]
