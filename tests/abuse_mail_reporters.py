"""Mail reporters for the tests of who sent a report: a feedback loop at bigmail.example whose mail
OpenDKIM signs (tests/dkim_signer.py), its key in the tests' DNS zone, and an attacker who signs as
a domain of their own. A plugin of tests/conftest.py's `pytest_plugins` (see tests/live_fixtures.py)."""

import email.utils
from datetime import datetime

import pytest

from abuse.models import Reporter
from tests.abuse_samples import fbl_report
from tests.dkim_signer import MISSING, OpenDKIM
from tests.parts import require

REPORTER_FROM = b"ISP Feedback Loop <fbl@isp.example>"


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


def _signer(tmp_path_factory, loopback_dns, domain: str) -> OpenDKIM:
    require(MISSING)
    signer = OpenDKIM(tmp_path_factory.mktemp(domain), domain)
    loopback_dns.resolver.add(signer.zone())
    return signer


@pytest.fixture(scope="session")
def bigmail_signer(tmp_path_factory, loopback_dns) -> OpenDKIM:
    """OpenDKIM signing as bigmail.example, the key published in the tests' DNS."""
    return _signer(tmp_path_factory, loopback_dns, "bigmail.example")


@pytest.fixture(scope="session")
def attacker_signer(tmp_path_factory, loopback_dns) -> OpenDKIM:
    """OpenDKIM signing as attacker.example: a valid signature of a domain no reporter has."""
    return _signer(tmp_path_factory, loopback_dns, "attacker.example")


@pytest.fixture
def bigmail(db) -> Reporter:
    """The configured feedback loop: it signs as bigmail.example, its MX are mx*.bigmail.example."""
    return Reporter.objects.create(name="Bigmail feedback loop", signing_domains="bigmail.example")


@pytest.fixture
def other_isp(db) -> Reporter:
    return Reporter.objects.create(name="Other ISP feedback loop", signing_domains="otherisp.example")
