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
    # How well the checks went: 100 when all passed, less for each finding (verification.scoring).
    # Requests show its inverse to reviewers: UnblockRequest.risk_score = 100 - score.
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
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
