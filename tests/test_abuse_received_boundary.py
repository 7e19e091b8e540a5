"""A forged Received header frames nobody (issue 23, finding 3): without Source-IP, the sender is the
host that handed the message to the reporter's own servers, as the reporter's configuration names
them; an address of ours written below that point is shown to the desk and weighs nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from abuse import formats, intake
from abuse.models import AbuseReport, Channel, Revocation, SourceRule
from abuse.reports import Unreadable
from egress.models import EgressSource, EgressState
from egress.services import set_desired_state
from tests.abuse_fixtures import SPAMMER_IP, framing_report
from tests.abuse_samples import backdate_addresses
from tests.conftest import CUSTOMER_IPS
from tests.egress_support import eager_tasks

FRAMED = CUSTOMER_IPS[0]

pytestmark = pytest.mark.django_db  # an address of ours below the boundary is looked up, for the note


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.PORTAL_EGRESS_TARGETS = {"default": {"backend": "simulated"}}
    settings.PORTAL_ABUSE_REVOKE_AFTER = 3
    settings.PORTAL_ABUSE_WARN_AFTER = 0


@pytest.fixture
def customer_open(account, django_capture_on_commit_callbacks):
    backdate_addresses(account, timezone.now() - timedelta(days=30))
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        set_desired_state(account, EgressState.ALLOWED, source=EgressSource.REQUEST, reason="ok")
    return account


def test_ten_reports_with_a_forged_hop_below_the_reporters_mx_revoke_nobody(
    customer_open, bigmail, django_capture_on_commit_callbacks
):
    """The repro: ten reports of an authenticated reporter (its token, or its signature) whose
    originals name the customer's address below the reporter's real hop."""
    at = timezone.now() - timedelta(minutes=5)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        for number in range(10):
            intake.ingest(framing_report(FRAMED, number, at), reporter=bigmail, channel=Channel.ARF)

    assert not Revocation.objects.exists(), "the customer is not revoked"
    reports = AbuseReport.objects.all()
    assert {(r.source_ip, r.source_rule, r.account_id) for r in reports} == {(SPAMMER_IP, SourceRule.OUTSIDE_HOP, None)}
    note = " ".join(reports[0].evidence["notes"])
    assert f"{FRAMED} below the reporter's servers was one of our addresses" in note, "shown to the desk"


def test_the_reporters_servers_come_from_its_configuration_not_from_the_message(bigmail):
    """A report that writes its From as another domain changes nothing: the boundary is bigmail.example's."""
    raw = framing_report(FRAMED, 1, timezone.now()).replace(b"fbl@bigmail.example", b"fbl@relay.elsewhere.example")

    (report,) = formats.read(raw, frozenset(bigmail.receives_as())).reports

    assert report.source_ip == SPAMMER_IP


def test_internal_hops_of_the_reporter_are_passed_by_their_verified_names():
    received = [
        "from filter3.bigmail.example (filter3.bigmail.example [203.0.113.77]) by inbox9.bigmail.example; x",
        "from relay.forwarder.example (relay.forwarder.example [192.0.2.55]) by filter3.bigmail.example; x",
        f"from x (x [{FRAMED}]) by relay.forwarder.example; x",
    ]
    (report,) = formats.read(_arf(received), frozenset({"bigmail.example"})).reports

    assert report.source_ip == "192.0.2.55"


def test_a_helo_name_in_the_reporters_domain_is_no_pass_inside():
    """The client names itself (HELO) what it likes; the receiving server's lookup said `unknown`."""
    received = [
        f"from relay.bigmail.example (unknown [{SPAMMER_IP}]) by mx1.bigmail.example; x",
        f"from x (x [{FRAMED}]) by relay.bigmail.example; x",
    ]
    (report,) = formats.read(_arf(received), frozenset({"bigmail.example"})).reports

    assert report.source_ip == SPAMMER_IP


@pytest.mark.parametrize(
    "hop",
    [
        f"from [{FRAMED}] (unknown [{SPAMMER_IP}]) by mx1.bigmail.example (Postfix) with ESMTP id 1; x",
        f"from [{SPAMMER_IP}] (helo=[{FRAMED}]) by mx1.bigmail.example with esmtp (Exim 4.96); x",
        f"from x.example ([{SPAMMER_IP}] helo=[{FRAMED}]) by mx1.bigmail.example with esmtp (Exim 4.96); x",
        f"from [{FRAMED}] ({SPAMMER_IP}) by mx1.bigmail.example (10.1.1.1) with Microsoft SMTP Server; x",
    ],
    ids=["postfix", "exim-no-rdns", "exim", "microsoft"],
)
def test_a_helo_literal_naming_a_customer_is_not_the_sender(hop):
    """The client chose its HELO; the reporter's server wrote down the address it really came from."""
    (report,) = formats.read(_arf([hop]), frozenset({"bigmail.example"})).reports

    assert report.source_ip == SPAMMER_IP


def test_a_chain_the_reporters_servers_never_wrote_names_no_sender():
    received = [f"from x (x [{FRAMED}]) by relay.elsewhere.example; x"]

    with pytest.raises(Unreadable, match=r"bigmail\.example"):
        formats.read(_arf(received), frozenset({"bigmail.example"}))


def _arf(received: list[str]) -> bytes:
    raw = framing_report(FRAMED, 1, timezone.now()).decode()
    head, _sep, rest = raw.partition("Received: ")
    rest = rest[rest.index("From: <offers") :]
    return (head + "".join(f"Received: {line}\r\n" for line in received) + rest).encode()
