"""An account's request to have outbound port 25 opened, and the record of what happened to it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    CHECKING = "checking", _("Running automated checks")
    AWAITING_REVIEW = "awaiting_review", _("Awaiting review")
    NEEDS_INFO = "needs_info", _("More information needed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = (Status.SUBMITTED, Status.CHECKING, Status.AWAITING_REVIEW, Status.NEEDS_INFO)
DECIDED_STATUSES = (Status.APPROVED, Status.REJECTED)  # by a reviewer or the auto-decision policy
CLOSED_STATUSES = (*DECIDED_STATUSES, Status.WITHDRAWN)  # the request's life is over

# The reviewer's bands of the risk score (0-100, higher is riskier; see verification.scoring).
RISK_BANDS = {"low": (0, 29), "medium": (30, 69), "high": (70, 100)}

# What the customer answers when filing a request: the form, the API and the reviewer's page show these.
ANSWER_FIELDS = (
    "company_name",
    "company_website",
    "sending_domain",
    "daily_volume",
    "use_case",
    "use_case_description",
    "optin_description",
    "email_template",
    "unsubscribe_url",
    "mail_software",
    "mail_software_other",
    "mail_server_hostname",
    "mail_server_ip",
    "threat_mitigation",
)


class UseCase(models.TextChoices):
    PERSONAL = "personal", _("Personal mail server")
    TRANSACTIONAL = "transactional", _("Transactional mail (receipts, password resets, alerts)")
    MARKETING = "marketing", _("Newsletter / marketing")
    FORWARDING = "forwarding", _("Forwarding for my own users")
    OTHER = "other", _("Other")


class MailSoftware(models.TextChoices):
    POSTFIX = "postfix", "Postfix"
    EXIM = "exim", "Exim"
    EXCHANGE = "exchange", "Microsoft Exchange"
    SENDMAIL = "sendmail", "Sendmail"
    OPENSMTPD = "opensmtpd", "OpenSMTPD"
    HMAILSERVER = "hmailserver", "hMailServer"
    HARAKA = "haraka", "Haraka"
    OTHER = "other", _("Other")


class UnblockRequestQuerySet(models.QuerySet):
    def open(self) -> "UnblockRequestQuerySet":
        return self.filter(status__in=OPEN_STATUSES)


class UnblockRequest(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="unblock_requests")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="unblock_requests")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    created_at = models.DateTimeField(_("submitted"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # A person's own name when the use case is a personal mail server.
    company_name = models.CharField(_("company name"), max_length=200)
    company_website = models.URLField(_("company website"), max_length=500, blank=True)
    sending_domain = models.CharField(_("sending domain"), max_length=253)
    daily_volume = models.PositiveIntegerField(_("estimated emails per day"))
    use_case = models.CharField(_("use case"), max_length=20, choices=UseCase.choices)
    use_case_description = models.TextField(_("what the mail is for"))
    optin_description = models.TextField(_("how recipients opted in"), blank=True)
    email_template = models.TextField(_("example email"), blank=True)
    unsubscribe_url = models.URLField(_("unsubscribe link"), max_length=500, blank=True)
    mail_software = models.CharField(_("mail server software"), max_length=20, choices=MailSoftware.choices)
    mail_software_other = models.CharField(_("other software"), max_length=100, blank=True)
    mail_server_hostname = models.CharField(_("mail server host name"), max_length=253)
    mail_server_ip = models.GenericIPAddressField(_("sending IP address"))
    threat_mitigation = models.TextField(_("antivirus and threat mitigation"))
    aup_accepted_at = models.DateTimeField(_("acceptable-use policy accepted"))

    # Review: who works on it, since when it waits, what was decided and why.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
    )
    status_changed_at = models.DateTimeField(_("in this status since"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason given to the customer"), blank=True)
    auto_decided = models.BooleanField(_("decided by policy"), default=False)
    # One-glance results of the latest checks, kept on the row so the queue needs no extra query.
    # The latest check run's risk (verification.models.CheckRun.risk): 0-100, higher is riskier.
    risk_score = models.PositiveSmallIntegerField(_("risk score"), null=True, blank=True)
    check_summary = models.CharField(_("checks"), max_length=200, blank=True)
    check_failures = models.PositiveSmallIntegerField(_("failed checks"), default=0)

    objects = UnblockRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("unblock request")
        verbose_name_plural = _("unblock requests")
        ordering = ["-created_at"]
        permissions = [("review_unblockrequest", _("Can review unblock requests (take, ask, approve, reject)"))]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="request_queue_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=OPEN_STATUSES),
                name="one_open_request_per_account",
                violation_error_message=_("This account already has an open request."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.company_name}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def risk_band(self) -> str | None:
        """Which of RISK_BANDS the risk score falls in; None before the checks scored the request."""
        if self.risk_score is None:
            return None
        return next(band for band, (low, high) in RISK_BANDS.items() if low <= self.risk_score <= high)


class RequestEvent(models.Model):
    """One line of a request's timeline; written once, never changed."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", _("Status changed")
        NOTE = "note", _("Note")
        ASSIGNMENT = "assignment", _("Assigned")
        APPROVAL = "approval", _("First approval")
        RERUN = "rerun", _("Checks re-run")

    request = models.ForeignKey(UnblockRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.TRANSITION)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.from_status} → {self.to_status}"


class ReasonTemplate(models.Model):
    """A rejection reason staff pick from; its text is shown to the customer."""

    title = models.CharField(_("title"), max_length=100, unique=True)
    text = models.TextField(_("text shown to the customer"))
    active = models.BooleanField(_("offered to reviewers"), default=True)

    class Meta:
        verbose_name = _("rejection reason")
        verbose_name_plural = _("rejection reasons")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class RequestMessage(models.Model):
    """The conversation between staff and the customer about one request."""

    request = models.ForeignKey(UnblockRequest, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_staff = models.BooleanField(_("from staff"))
    body = models.TextField(_("message"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.at:%Y-%m-%d %H:%M}"


class RequestApproval(models.Model):
    """A reviewer's approval; where four eyes are required, two distinct ones open the port."""

    request = models.ForeignKey(UnblockRequest, on_delete=models.CASCADE, related_name="approvals")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        constraints = [models.UniqueConstraint(fields=["request", "reviewer"], name="one_approval_per_reviewer")]

    def __str__(self) -> str:
        return f"#{self.request_id} by {self.reviewer}"
