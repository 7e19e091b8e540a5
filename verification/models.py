"""Runs of the automated checks and each check's stored result, with the evidence behind it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from verification.outcome import Verdict


class Recommendation(models.TextChoices):
    APPROVE = "approve", _("Looks good")
    REVIEW = "review", _("Needs a closer look")
    FIX = "fix", _("Customer must fix something first")


class CheckRunQuerySet(models.QuerySet):
    def for_subject(self, subject: str) -> "CheckRunQuerySet":
        return self.filter(subject=subject)


class CheckRun(models.Model):
    """One pass of the checks over one subject (e.g. "unblock_request:42"); a re-run is a new row.

    The subject is a loose reference so that this app never depends on the apps it checks.
    """

    class Trigger(models.TextChoices):
        SUBMITTED = "submitted", _("Request submitted")
        RERUN = "rerun", _("Re-run by the customer")

    subject = models.CharField(_("subject"), max_length=100, db_index=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="check_runs")
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("last progress"), auto_now=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Risk, 0-100, higher is riskier: 0 when every check passed, each finding adds its weight
    # (verification.scoring). The one scale of the portal: requests, the queue, the API and mails show it as is.
    risk = models.PositiveSmallIntegerField(_("risk"), null=True, blank=True)
    recommendation = models.CharField(_("recommendation"), max_length=10, choices=Recommendation.choices, blank=True)

    objects = CheckRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("check run")
        verbose_name_plural = _("check runs")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None


class ResultStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    PASS = Verdict.PASS.value, Verdict.PASS.label
    WARN = Verdict.WARN.value, Verdict.WARN.label
    FAIL = Verdict.FAIL.value, Verdict.FAIL.label
    ERROR = Verdict.ERROR.value, Verdict.ERROR.label


UNDECIDED = (ResultStatus.PENDING, ResultStatus.RUNNING)


class CheckResult(models.Model):
    run = models.ForeignKey(CheckRun, on_delete=models.CASCADE, related_name="results")
    check_name = models.CharField(_("check"), max_length=40)
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(_("status"), max_length=10, choices=ResultStatus.choices, default=ResultStatus.PENDING)
    summary = models.TextField(_("summary"), blank=True)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("check result")
        verbose_name_plural = _("check results")
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "check_name"], name="one_result_per_check_and_run")]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.status}"

    @property
    def is_decided(self) -> bool:
        return self.status not in UNDECIDED


class WatchedAddress(models.Model):
    """An address of an account whose port 25 is open, on the re-check cycle (verification.recheck).

    Each is due at its own moment of the period, so that the cycle's work is spread evenly.
    """

    ip = models.GenericIPAddressField(_("address"), unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    sending_domain = models.CharField(
        _("sending domain"), max_length=253, blank=True, help_text=_("Its SPF must still cover the address.")
    )
    due_at = models.DateTimeField(_("next re-check"), db_index=True)
    last_checked_at = models.DateTimeField(_("last re-checked"), null=True, blank=True)
    checks = models.PositiveIntegerField(_("re-checks done"), default=0)

    class Meta:
        verbose_name = _("watched address")
        verbose_name_plural = _("watched addresses")
        ordering = ["due_at", "pk"]

    def __str__(self) -> str:
        return self.ip


class FindingKind(models.TextChoices):
    LISTED = "listed", _("Listed on a blocklist")
    OPEN_RELAY = "open_relay", _("Open relay")
    REVERSE_DNS = "reverse_dns", _("Reverse DNS does not match")
    SPF = "spf", _("SPF no longer covers the address")


class RecheckFindingQuerySet(models.QuerySet):
    def current(self) -> "RecheckFindingQuerySet":
        return self.filter(ended_at__isnull=True)


class RecheckFinding(models.Model):
    """Trouble a re-check found on an address, from when it was first seen until it was gone.

    The history is compact: the same finding seen again only moves `last_seen`; a re-check that
    no longer finds it sets `ended_at`; a new one is a new row.
    """

    ip = models.GenericIPAddressField(_("address"))
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("what"), max_length=12, choices=FindingKind.choices)
    source = models.CharField(_("blocklist zone"), max_length=253, blank=True)
    summary = models.TextField(_("summary"))
    detail = models.JSONField(_("evidence"), default=dict, blank=True)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    ended_at = models.DateTimeField(_("gone since"), null=True, blank=True)

    objects = RecheckFindingQuerySet.as_manager()

    class Meta:
        verbose_name = _("re-check finding")
        verbose_name_plural = _("re-check findings")
        ordering = ["-first_seen", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ip", "kind", "source"], condition=models.Q(ended_at__isnull=True), name="one_current_finding"
            ),
        ]
        indexes = [models.Index(fields=["account", "first_seen"], name="recheck_finding_account")]

    def __str__(self) -> str:
        return f"{self.ip}: {self.get_kind_display()} {self.source}".strip()


class ZoneStatus(models.Model):
    """Whether a blocklist zone's answers are trusted now, by its RFC 5782 test points."""

    zone = models.CharField(_("zone"), max_length=253, unique=True)
    usable = models.BooleanField(_("answers trusted"), default=True)
    reason = models.TextField(_("why set aside"), blank=True)
    checked_at = models.DateTimeField(_("last tested"), default=timezone.now)
    set_aside_at = models.DateTimeField(_("set aside since"), null=True, blank=True)
    deferred = models.PositiveBigIntegerField(
        _("re-checks deferred"), default=0, help_text=_("Re-checks moved to the next day: the zone's budget was spent.")
    )
    queries = models.PositiveBigIntegerField(_("queries made"), default=0)

    class Meta:
        verbose_name = _("blocklist zone")
        verbose_name_plural = _("blocklist zones")
        ordering = ["zone"]

    def __str__(self) -> str:
        return self.zone
