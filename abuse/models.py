"""Abuse reports about the provider's addresses, the policy's decisions on them, and the way back.

Reports are kept as received (raw bytes beside the parsed fields); a report that cannot be
read is kept too, as a RejectedReport. Decisions name the reports behind them; revocations
and everything staff or the customer did about them are on the append-only AbuseEvent log.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, HashedToken, ServerAddress
from common.bounded_json import StoredJSONDecoder


class Category(models.TextChoices):
    SPAM = "spam", _("Spam")
    PHISHING = "phishing", _("Phishing")
    MALWARE = "malware", _("Malware")
    COMPROMISED = "compromised", _("Compromised server")
    SPAMTRAP = "spamtrap", _("Spam-trap hit")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    JSON = "json", _("API (JSON)")
    ARF = "arf", _("ARF message")
    XARF = "xarf", _("API (XARF v4)")
    MAIL = "mail", _("Mail file")
    IMAP = "imap", _("Mailbox feed")
    STAFF = "staff", _("Filed by staff")


class ReportFormat(models.TextChoices):
    """What the reporter wrote: each has its parser in abuse/formats/."""

    JSON = "json", _("Portal JSON")
    ARF = "arf", _("ARF (RFC 5965)")
    X_ARF = "x-arf", _("X-ARF 0.2")
    XARF4 = "xarf4", _("XARF v4")
    JMRP = "jmrp", _("Microsoft complaint (JMRP)")
    SPAMCOP = "spamcop", _("SpamCop")
    SPAMHAUS = "spamhaus", _("Spamhaus SBL")
    STAFF = "staff", _("Filed by staff")


class SourceRule(models.TextChoices):
    """How the sending address was found (abuse.sender)."""

    DECLARED = "declared", _("Stated by the reporter")
    INVENTORY = "inventory", _("Received hop that was our address then (no longer used: forgeable)")
    OUTSIDE_HOP = "outside_hop", _("Host that handed the message to the reporter's mail servers")


class SourceCertainty(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class Reporter(models.Model):
    """Who sends reports: a feedback loop, a blocklist operator, the provider's own monitors."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    contact = models.EmailField(_("contact address"), blank=True)
    active = models.BooleanField(_("active"), default=True, help_text=_("Reports of inactive reporters are refused."))
    signing_domains = models.TextField(
        _("signing domains"),
        blank=True,
        help_text=_(
            "The domains this reporter's mail is authenticated as, one per line: a DKIM signature's d= domain, "
            "or header.d= in the Authentication-Results of our own MX. Its subdomains count too. Mail that "
            "proves none of a reporter's domains is kept as unverified and weighs nothing until confirmed."
        ),
    )
    receiving_domains = models.TextField(
        _("receiving domains"),
        blank=True,
        help_text=_(
            "The domains of the reporter's own mail servers, as they write `by` in Received headers "
            "(mx1.bigmail.example: bigmail.example), one per line; empty: the signing domains. The sender "
            "of a reported message is the host that handed it to these servers."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("reporter")
        verbose_name_plural = _("reporters")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        for field in ("signing_domains", "receiving_domains"):
            wrong = [name for name in domains_in(getattr(self, field)) if not DOMAIN.fullmatch(name)]
            if wrong:
                raise ValidationError({field: _("Not a domain: %(names)s") % {"names": ", ".join(wrong)}})

    def signs_as(self) -> list[str]:
        return domains_in(self.signing_domains)

    def receives_as(self) -> list[str]:
        return domains_in(self.receiving_domains) or self.signs_as()


DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


def domains_in(text: str) -> list[str]:
    """The domains of a field written one per line (commas and spaces separate too), lower case."""
    return [name.strip(".").lower() for name in text.replace(",", " ").split() if name.strip(".")]


class ReporterToken(HashedToken):
    """A reporter's API credential, issued in the admin; only its digest is stored."""

    reporter = models.ForeignKey(Reporter, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("reporter API token")
        verbose_name_plural = _("reporter API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.reporter}: {self.name}"


class AbuseReportQuerySet(models.QuerySet):
    def waiting(self) -> "AbuseReportQuerySet":
        """Taken in by the API, not yet matched and weighed by the worker (abuse.backlog)."""
        return self.filter(matched_at__isnull=True)

    def unmatched(self) -> "AbuseReportQuerySet":
        """Matched against the inventory, and no account held the address then: for the abuse desk."""
        return self.filter(matched_at__isnull=False, account__isnull=True)

    def weighing(self) -> "AbuseReportQuerySet":
        """The reports the policy may weigh: authenticated ones, and unverified ones a person confirmed."""
        return self.filter(Q(unverified=False) | Q(confirmed_at__isnull=False))


class AbuseReport(models.Model):
    """An accepted report, matched to the account that held the address at the report's time (or not)."""

    reporter = models.ForeignKey(
        Reporter, verbose_name=_("reporter"), null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    reference = models.CharField(
        _("reporter's reference"), max_length=255, blank=True, help_text=_("The reporter's ID or Message-ID.")
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True, editable=False)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    source_ip = models.GenericIPAddressField(_("source IP"))
    source_rule = models.CharField(
        _("how the source IP was found"), max_length=12, choices=SourceRule.choices, default=SourceRule.DECLARED
    )
    source_certainty = models.CharField(
        _("certainty of the source IP"), max_length=6, choices=SourceCertainty.choices, default=SourceCertainty.HIGH
    )
    format = models.CharField(_("format"), max_length=10, choices=ReportFormat.choices, default=ReportFormat.JSON)
    occurred_at = models.DateTimeField(_("time of the incident"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    reported_domain = models.CharField(_("reported domain"), max_length=253, blank=True)
    original_mail_from = models.CharField(_("original envelope sender"), max_length=320, blank=True)
    original_headers = models.TextField(_("headers of the reported message"), blank=True)
    # Stored before every API had a nesting limit, evidence may be too deep to read: a note, not a 500.
    evidence = models.JSONField(_("evidence"), default=dict, blank=True, decoder=StoredJSONDecoder)
    raw = models.BinaryField(_("raw report"), editable=False)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    address = models.ForeignKey(
        ServerAddress, verbose_name=_("address"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    matched_at = models.DateTimeField(
        _("matched"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the report was matched to the inventory and weighed; empty while it waits for the worker."),
    )
    deliveries = models.PositiveIntegerField(_("times delivered"), default=1)
    unverified = models.BooleanField(
        _("unverified"),
        default=False,
        editable=False,
        help_text=_("Mail whose sender nothing proves (no aligned DKIM signature): weighs nothing until confirmed."),
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True, editable=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    redacted = models.JSONField(_("hidden from the customer"), default=list, blank=True)
    raw_kept_by = models.ForeignKey(
        "self",
        verbose_name=_("raw message kept by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("A message with several reports (a digest, many sources) is kept once, by its first report."),
    )

    objects = AbuseReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("abuse report")
        verbose_name_plural = _("abuse reports")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "reference"], condition=~Q(reference=""), name="abuse_report_once_per_reference"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "occurred_at"], name="abuse_report_account_time"),
            models.Index(fields=["source_ip"], name="abuse_report_source_ip"),
            models.Index(fields=["id"], condition=Q(matched_at__isnull=True), name="abuse_report_waiting"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()} {self.source_ip}"

    def raw_message(self) -> bytes:
        """The message the report came in, as received (kept once for all its reports)."""
        return bytes((self.raw_kept_by or self).raw)


class RejectedReport(models.Model):
    """A report that could not be accepted, kept raw with the reason, for the abuse desk to read."""

    reporter = models.ForeignKey(
        Reporter, verbose_name=_("reporter"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    reason = models.TextField(_("reason"))
    size = models.PositiveBigIntegerField(_("size in bytes"))
    raw = models.BinaryField(_("raw report (up to the size limit)"), editable=False)

    class Meta:
        verbose_name = _("rejected report")
        verbose_name_plural = _("rejected reports")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.reason[:60]}"


class MailboxMessage(models.Model):
    """A message the mailbox feed took from an IMAP folder: taken in once, however often it is seen.

    Stored in the same transaction as its reports, before the message is moved on the server: a
    poll that dies in between finds the row next time and only moves the message.
    """

    mailbox = models.CharField(_("mailbox"), max_length=400, help_text=_("user@host/folder"))
    uidvalidity = models.PositiveBigIntegerField(_("UIDVALIDITY"))
    uid = models.PositiveBigIntegerField(_("UID"))
    digest = models.CharField(_("SHA-256 of the message"), max_length=64, unique=True)
    status = models.CharField(_("outcome"), max_length=10)
    taken_at = models.DateTimeField(_("taken in"), default=timezone.now)
    moved_at = models.DateTimeField(_("moved on the server"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailbox message")
        verbose_name_plural = _("mailbox messages")
        ordering = ["-taken_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "uidvalidity", "uid"], name="abuse_mailbox_message_once"),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox} {self.uidvalidity}/{self.uid}: {self.status}"


class PolicyOutcome(models.TextChoices):
    WARN = "warn", _("Warning")
    REVOKE = "revoke", _("Revocation")


class PolicyDecisionManager(models.Manager):
    def record(self, account: Account, outcome: str, rule: str, reports: list[AbuseReport]) -> "PolicyDecision":
        """The decision and the reports behind it, in two inserts."""
        return self.record_many([(account, outcome, rule, reports)])[0]

    def record_many(self, decided: list[tuple[Account, str, str, list[AbuseReport]]]) -> list["PolicyDecision"]:
        """Decisions (account, outcome, rule, reports) and the reports behind each, in two inserts in all."""
        if not decided:
            return []
        decisions = self.bulk_create(
            self.model(account=account, outcome=outcome, rule=rule) for account, outcome, rule, _reports in decided
        )
        through = self.model.reports.through
        through.objects.bulk_create(
            through(policydecision=decision, abusereport=report)
            for decision, (_account, _outcome, _rule, reports) in zip(decisions, decided, strict=True)
            for report in reports
        )
        return decisions


class PolicyDecision(models.Model):
    """What the policy concluded about an account, and from which reports."""

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=10, choices=PolicyOutcome.choices)
    rule = models.TextField(_("rule that applied"))
    decided_at = models.DateTimeField(_("decided"), default=timezone.now)
    reports = models.ManyToManyField(AbuseReport, verbose_name=_("reports"), related_name="decisions")
    acknowledged_at = models.DateTimeField(_("seen by the abuse desk"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("seen by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = PolicyDecisionManager()

    class Meta:
        verbose_name = _("policy decision")
        verbose_name_plural = _("policy decisions")
        ordering = ["-decided_at", "-id"]
        permissions = [("acknowledge_policydecision", _("Can mark flagged accounts as seen"))]

    def __str__(self) -> str:
        return f"{self.account}: {self.get_outcome_display()}"


class RevocationState(models.TextChoices):
    ACTIVE = "active", _("Revoked")
    NEW_REQUEST = "new_request", _("Revoked; a new request is required")
    REINSTATED = "reinstated", _("Reinstated by staff")  # the abuse desk, a reviewer or a superuser: see decided_by
    REOPENED = "reopened", _("Reopened (request approved or staff action)")


OPEN_STATES = (RevocationState.ACTIVE, RevocationState.NEW_REQUEST)


class RevocationQuerySet(models.QuerySet):
    def open(self) -> "RevocationQuerySet":
        return self.filter(state__in=OPEN_STATES)


class Revocation(models.Model):
    """Port 25 closed by the policy; stays open (in this sense) until the way back is taken."""

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    decision = models.OneToOneField(PolicyDecision, verbose_name=_("decision"), on_delete=models.PROTECT)
    ordinal = models.PositiveIntegerField(_("revocation number"), help_text=_("1 for the account's first one."))
    revoked_at = models.DateTimeField(_("revoked"), default=timezone.now)
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=12, choices=RevocationState.choices, default=RevocationState.ACTIVE)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    staff_note = models.TextField(_("staff note"), blank=True)
    customer_note = models.TextField(_("what the customer fixed"), blank=True)
    customer_note_at = models.DateTimeField(_("customer answered"), null=True, blank=True)

    objects = RevocationQuerySet.as_manager()

    class Meta:
        verbose_name = _("revocation")
        verbose_name_plural = _("revocations")
        ordering = ["-revoked_at", "-id"]
        permissions = [("reinstate_revocation", _("Can reinstate port 25 or require a new request"))]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(state__in=OPEN_STATES), name="abuse_one_open_revocation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} #{self.ordinal}: {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class EventKind(models.TextChoices):
    WARNED = "warned", _("Warning sent")
    REVOKED = "revoked", _("Port 25 revoked")
    FIX_REPORTED = "fix_reported", _("Customer reported a fix")
    REINSTATED = "reinstated", _("Reinstated")
    NEW_REQUEST = "new_request", _("New request required")
    REOPENED = "reopened", _("Reopened elsewhere")
    ACKNOWLEDGED = "acknowledged", _("Flag seen by the abuse desk")
    REDACTED = "redacted", _("Evidence redacted")
    FILED = "filed", _("Report filed by staff")
    CONFIRMED = "confirmed", _("Unverified report confirmed by staff")
    TRAFFIC_BLOCKED = "traffic_block", _("Port 25 blocked for a while (a burst)")
    TOLD_BLOCKED_TRIES = "tried_blocked", _("Told: a blocked server tried port 25")
    OVER_DECLARED = "over_declared", _("Sent far more than declared")
    RECHECK_BLOCKED = "recheck_block", _("Port 25 closed after a re-check")
    RECHECK_WARNED = "recheck_warn", _("Told: a re-check found a problem")
    RECHECK_LIFTED = "recheck_lift", _("Port 25 open again: a re-check found the server clean")


class AbuseEvent(models.Model):
    """The abuse timeline of an account. Append-only: nothing updates or deletes these rows."""

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("when"), default=timezone.now)
    kind = models.CharField(_("what"), max_length=14, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message = models.TextField(_("details"), blank=True)
    report = models.ForeignKey(AbuseReport, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision = models.ForeignKey(PolicyDecision, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revocation = models.ForeignKey(Revocation, null=True, blank=True, on_delete=models.PROTECT, related_name="events")

    class Meta:
        verbose_name = _("abuse event")
        verbose_name_plural = _("abuse events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.account}: {self.get_kind_display()}"
