"""What every check is given and what it gives back, independent of where the request lives."""

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class Verdict(models.TextChoices):
    """A check's answer. `error` means "could not decide" and is never read as a pass or a fail."""

    PASS = "pass", _("Passed")
    WARN = "warn", _("Warning")
    FAIL = "fail", _("Failed")
    ERROR = "error", _("Could not check")


# Worst first: the order in which a check's parts combine into its verdict.
SEVERITY = (Verdict.FAIL, Verdict.ERROR, Verdict.WARN, Verdict.PASS)


def worst(verdicts: list[str]) -> str:
    """The most severe of `verdicts` (pass when there are none)."""
    for verdict in SEVERITY:
        if verdict in verdicts:
            return verdict
    return Verdict.PASS


@dataclass
class Outcome:
    verdict: str
    summary: str
    evidence: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AccountFacts:
    """What the account-signals check weighs; gathered by the caller, which owns the database."""

    created_at: datetime
    missing_verifications: list[str]  # accounts.models.Account.missing_verifications: the one answer
    revoked_for_abuse: bool
    earlier_rejections: int = 0


@dataclass(frozen=True)
class CheckSubject:
    """Everything the checks look at, as the customer declared it."""

    mail_server_ip: str
    mail_server_hostname: str
    sending_domain: str
    website_url: str = ""
    unsubscribe_url: str = ""
    email_template: str = ""
    company_name: str = ""
    marketing: bool = False
    account: AccountFacts | None = None


class Deadline:
    """A time budget shared by the steps of one check, so many short waits cannot add up."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def cap(self, seconds: float) -> float:
        """`seconds`, or less if the budget ends sooner (never zero: a socket would then block)."""
        return max(0.05, min(seconds, self.remaining()))

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0
