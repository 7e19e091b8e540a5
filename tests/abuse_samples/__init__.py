"""Abuse reports as reporters send them (the .eml files here), and helpers of the abuse tests."""

from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from django.utils import timezone

from abuse.models import Reporter, ReporterToken
from accounts.models import Account, ServerAddress

SAMPLES = Path(__file__).resolve().parent
FBL_IP = "198.51.100.7"  # the sending address in the feedback-loop samples (tests.conftest.CUSTOMER_IPS[0])
FBL_ARRIVAL = "Fri, 20 Nov 2026 09:58:03 +0000"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def fbl_report(ip: str = FBL_IP, at: datetime | None = None, *, number: int = 1, feedback_type: str = "abuse") -> bytes:
    """The feedback-loop sample about another message: sent from `ip`, arrived `at` (default now)."""
    arrival = format_datetime(at or timezone.now())
    raw = sample("fbl-source-ip.eml").decode()
    raw = raw.replace(FBL_ARRIVAL, arrival).replace("Source-IP: 198.51.100.7", f"Source-IP: {ip}")
    raw = raw.replace("Feedback-Type: abuse", f"Feedback-Type: {feedback_type}")
    raw = raw.replace("fbl-20261120101542-7731@isp.example", f"fbl-{number}@isp.example")
    return raw.replace("20261120095758.8812@news", f"{number}.8812@news").encode()


def reporter_with_token(name: str = "ISP feedback loop") -> tuple[Reporter, str]:
    reporter = Reporter.objects.create(name=name)
    return reporter, ReporterToken.issue(reporter=reporter, name="tests")[1]


def backdate_addresses(account: Account, since: datetime) -> None:
    """The account has held its addresses since `since` (the fixtures assign them now)."""
    ServerAddress.objects.filter(server__account=account).update(assigned_at=since)


def report_json(ip: str = FBL_IP, category: str = "spam", number: int = 1, at: datetime | None = None) -> dict:
    return {
        "source_ip": ip,
        "category": category,
        "time": (at or timezone.now()).isoformat(),
        "reference": f"ref-{number}",
        "evidence": {"subject": "Cheap pills", "recipient": f"user{number}@isp.example"},
    }
