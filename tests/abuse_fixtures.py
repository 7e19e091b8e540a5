"""Fixtures of the abuse tests, a plugin of tests/conftest.py's `pytest_plugins` (see tests/harnesses/live_fixtures.py).

Mail reporters for the tests of who sent a report: a feedback loop at bigmail.example whose mail
OpenDKIM signs (tests/dkim_signer.py), its key in the tests' DNS zone, and an attacker who signs as
a domain of their own; and `run_after_commit`, which commits and runs what was queued."""

import email.utils
from collections.abc import Iterator
from datetime import datetime

import pytest

from abuse.models import Reporter
from tests.abuse_samples import fbl_report
from tests.dkim_signer import MISSING, OpenDKIM
from tests.egress_support import eager_tasks
from tests.parts import require

REPORTER_FROM = b"ISP Feedback Loop <fbl@isp.example>"


@pytest.fixture
def run_after_commit(django_capture_on_commit_callbacks):
    """Commit, then run the queued tasks inline: the policy, then the egress apply."""

    def run(action):
        with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def fbl_mail(
    ip: str,
    *,
    sender: str = "fbl@bigmail.example",
    feedback_type: str = "virus",
    number: int = 1,
    at: datetime | None = None,
) -> bytes:
    """A feedback-loop report about `ip` that says it is from `sender` (nothing checked yet)."""
    raw = fbl_report(ip, at, number=number, feedback_type=feedback_type)
    return raw.replace(REPORTER_FROM, email.utils.formataddr(("Feedback Loop", sender)).encode())


def _signer(tmp_path_factory, loopback_dns, domain: str) -> Iterator[OpenDKIM]:
    require(MISSING)
    signer = OpenDKIM(tmp_path_factory.mktemp(domain), domain).start()
    loopback_dns.resolver.add(signer.zone())
    yield signer
    signer.stop()


@pytest.fixture(scope="session")
def bigmail_signer(tmp_path_factory, loopback_dns) -> Iterator[OpenDKIM]:
    """OpenDKIM signing as bigmail.example, the key published in the tests' DNS."""
    yield from _signer(tmp_path_factory, loopback_dns, "bigmail.example")


@pytest.fixture(scope="session")
def attacker_signer(tmp_path_factory, loopback_dns) -> Iterator[OpenDKIM]:
    """OpenDKIM signing as attacker.example: a valid signature of a domain no reporter has."""
    yield from _signer(tmp_path_factory, loopback_dns, "attacker.example")


@pytest.fixture
def bigmail(db) -> Reporter:
    """The configured feedback loop: it signs as bigmail.example, its MX are mx*.bigmail.example."""
    return Reporter.objects.create(name="Bigmail feedback loop", signing_domains="bigmail.example")


@pytest.fixture
def other_isp(db) -> Reporter:
    return Reporter.objects.create(name="Other ISP feedback loop", signing_domains="otherisp.example")


# Issue 23's repro of a framed customer: the reporter's MX received the spam from 198.51.100.23;
# the line below it, naming a customer's address, is the spammer's own writing.
SPAMMER_IP = "198.51.100.23"
REAL_HOP = "from spammer-host.example (unknown [{spammer}])\r\n\tby mx1.bigmail.example with ESMTP id r{number}; {date}"
FORGED_HOP = "from customer-host.example (customer-host.example [{framed}])\r\n\tby relay.elsewhere.example; {date}"

FRAMING_ARF = """\
From: Bigmail Feedback Loop <fbl@bigmail.example>
To: abuse@provider.example
Subject: FW: complaint
Date: {date}
Message-ID: <framing-{number}@fbl.bigmail.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b{number}"

--b{number}
Content-Type: text/plain; charset=us-ascii

A Bigmail user marked this message as spam.

--b{number}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Bigmail-FBL/1.0
Version: 1
Arrival-Date: {date}

--b{number}
Content-Type: message/rfc822
Content-Disposition: inline

Received: {real}
Received: {forged}
From: <offers@spammer-host.example>
To: <user{number}@bigmail.example>
Subject: Cheap watches
Message-ID: <spam-{number}@spammer-host.example>
Date: {date}

Buy now.
--b{number}--
"""


def framing_report(framed: str, number: int, at: datetime) -> bytes:
    """An ARF report without Source-IP whose original frames `framed` below the reporter's real hop."""
    date = email.utils.format_datetime(at)
    real = REAL_HOP.format(spammer=SPAMMER_IP, number=number, date=date)
    forged = FORGED_HOP.format(framed=framed, date=date)
    text = FRAMING_ARF.format(date=date, number=number, real=real, forged=forged)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
