"""The desired port-25 state of each account: the truth the firewall is made to match.

Beside it: the decisions' history, the outbox of changes each enforcement target still
owes, each target's reconciliation status, and the `simulated` backend's firewall table.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account


class EgressState(models.TextChoices):
    BLOCKED = "blocked", _("Blocked")
    ALLOWED = "allowed", _("Allowed")


class EgressSource(models.TextChoices):
    DEFAULT = "default", _("Default for new accounts")
    REQUEST = "request", _("Unblock request")
    ABUSE = "abuse", _("Abuse report")
    STAFF = "staff", _("Staff action")
    TRAFFIC = "traffic", _("Traffic seen on port 25")
    RECHECK = "recheck", _("Re-check of an open account")


class ReopenLevel(models.TextChoices):
    """Who may lift a block that carries a hold (egress.reopening), the label as the refusal names them."""

    ABUSE_DESK = "abuse_desk", _("the abuse desk")
    REVIEWER = "reviewer", _("a support reviewer")
    SUPERUSER = "superuser", _("a superuser")


class AccountEgress(models.Model):
    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="egress")
    desired = models.CharField(
        _("desired state"), max_length=10, choices=EgressState.choices, default=EgressState.BLOCKED
    )
    source = models.CharField(_("source"), max_length=10, choices=EgressSource.choices, default=EgressSource.DEFAULT)
    reason = models.TextField(_("reason"), blank=True)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    reopen_by = models.CharField(
        _("only opened again by"),
        max_length=12,
        choices=ReopenLevel.choices,
        blank=True,
        help_text=_("The hold a block carries: who may open port 25 again (empty: whoever may decide)."),
    )
    reopen_by_request = models.BooleanField(
        _("or by an approved request"),
        default=False,
        help_text=_("Someone with the hold's authority asked for a new request: its approval opens port 25."),
    )
    until = models.DateTimeField(
        _("temporary until"), null=True, blank=True, help_text=_("When this temporary decision lifts by itself.")
    )
    returns_to = models.CharField(
        _("then returns to"), max_length=10, choices=EgressState.choices, blank=True
    )  # the state before the temporary decision
    expected_daily_volume = models.PositiveIntegerField(
        _("expected emails a day"),
        null=True,
        blank=True,
        help_text=_("What the decision that opened port 25 expects the account to send (its request's declaration)."),
    )
    sending_domain = models.CharField(
        _("sending domain"),
        max_length=253,
        blank=True,
        help_text=_("The domain the opening declared the account sends as; re-checks test its SPF."),
    )

    class Meta:
        verbose_name = _("account egress")
        verbose_name_plural = _("account egress")
        permissions = [("decide_accountegress", _("Can block or unblock port 25 by hand"))]

    def __str__(self) -> str:
        return f"{self.account}: {self.get_desired_display()}"

    @property
    def revoked_for_abuse(self) -> bool:
        """Closed because of abuse: the customer is told "revoked"; the checks count it against the account."""
        return self.desired == EgressState.BLOCKED and self.source == EgressSource.ABUSE


class EgressDecision(models.Model):
    """One decision about an account's port 25. Append-only: nothing updates or deletes these rows."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="egress_decisions")
    from_state = models.CharField(_("from"), max_length=10, choices=EgressState.choices)
    to_state = models.CharField(_("to"), max_length=10, choices=EgressState.choices)
    source = models.CharField(_("source"), max_length=10, choices=EgressSource.choices)
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), default=timezone.now)
    until = models.DateTimeField(_("temporary until"), null=True, blank=True)

    class Meta:
        verbose_name = _("egress decision")
        verbose_name_plural = _("egress decisions")
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account}: {self.from_state} → {self.to_state}"


class ChangeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPLIED = "applied", _("Applied")
    FAILED = "failed", _("Failed")


class EgressChange(models.Model):
    """An outbox row: a target owes a sync of these addresses (written in the deciding transaction).

    The row names addresses, not their state: whoever applies it reads the state at that moment,
    so rows may be applied late, twice or out of order and the firewall still ends right.
    """

    key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, unique=True, editable=False)
    target = models.CharField(_("target"), max_length=100)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="egress_changes")
    addresses = models.JSONField(_("addresses"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    class Meta:
        verbose_name = _("egress change")
        verbose_name_plural = _("egress changes (outbox)")
        ordering = ["id"]
        indexes = [models.Index(fields=["target", "status", "next_attempt_at"], name="egress_change_due")]

    def __str__(self) -> str:
        return f"{self.target}: {self.account} ({self.get_status_display()})"


class EgressTarget(models.Model):
    """An enforcement point named in settings. Its row is locked while the target is written to,
    so applies and reconciliations of one target never interleave; others are not held up."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    reconciled_at = models.DateTimeField(_("last reconciled"), null=True, blank=True)
    last_added = models.PositiveIntegerField(_("allowed by the last reconciliation"), default=0)
    last_removed = models.PositiveIntegerField(_("removed by the last reconciliation"), default=0)
    # Cumulative, for the operator's metrics (portal_egress_drift_repaired_total): never reset.
    repaired_total = models.PositiveBigIntegerField(_("addresses repaired by reconciliations"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    traffic_read_at = models.DateTimeField(_("counters last read"), null=True, blank=True)

    class Meta:
        verbose_name = _("enforcement target")
        verbose_name_plural = _("enforcement targets")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SimulatedAllowance(models.Model):
    """The `simulated` backend's firewall: an address allowed to reach tcp/25 through a target."""

    target = models.CharField(max_length=100)
    ip = models.GenericIPAddressField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "ip"], name="one_allowance_per_target_ip")]

    def __str__(self) -> str:
        return f"{self.target}: {self.ip}"


class SimulatedTraffic(models.Model):
    """The `simulated` backend's counters: what its firewall would have counted for an address."""

    target = models.CharField(max_length=100)
    ip = models.GenericIPAddressField()
    connections = models.PositiveBigIntegerField(default=0)
    blocked = models.PositiveBigIntegerField(default=0)
    over_rate = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "ip"], name="one_traffic_row_per_target_ip")]

    def __str__(self) -> str:
        return f"{self.target}: {self.ip}"


class CounterKind(models.TextChoices):
    CONNECTIONS = "connections", _("New connections")
    BLOCKED = "blocked", _("Blocked attempts")


class TrafficReading(models.Model):
    """The last cumulative counter read from a target for an address: the base of the next delta.

    Only counters that moved are written. An address missing from a reading keeps its reading (a
    listing can miss elements); one that has not moved for long is forgotten (egress.traffic.expire).
    """

    target = models.CharField(max_length=100)
    kind = models.CharField(max_length=11, choices=CounterKind.choices)
    ip = models.GenericIPAddressField()
    value = models.PositiveBigIntegerField()
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "kind", "ip"], name="one_reading_per_counter")]

    def __str__(self) -> str:
        return f"{self.target}: {self.ip} {self.kind} {self.value}"


class BucketSize(models.TextChoices):
    MINUTE = "minute", _("Minute")
    HOUR = "hour", _("Hour")
    DAY = "day", _("Day")


class TrafficCount(models.Model):
    """tcp/25 traffic of one address through one target in one time bucket (UTC).

    Written only for addresses that did something in the bucket; idle accounts cost nothing.
    """

    size = models.CharField(_("bucket"), max_length=6, choices=BucketSize.choices)
    start = models.DateTimeField(_("from"))
    target = models.CharField(_("target"), max_length=100)
    ip = models.GenericIPAddressField(_("address"))
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="traffic_counts"
    )  # who held the address when it was counted
    connections = models.PositiveBigIntegerField(_("new connections"), default=0)
    blocked = models.PositiveBigIntegerField(_("blocked attempts"), default=0)
    over_rate = models.PositiveIntegerField(_("over-rate events"), default=0)

    class Meta:
        verbose_name = _("traffic count")
        verbose_name_plural = _("traffic counts")
        constraints = [
            models.UniqueConstraint(fields=["size", "start", "target", "ip"], name="one_count_per_bucket")
        ]
        indexes = [models.Index(fields=["account", "size", "start"], name="traffic_by_account")]

    def __str__(self) -> str:
        return f"{self.ip} {self.size} {self.start:%Y-%m-%d %H:%M}"


class TrafficEvent(models.Model):
    """A source a target saw over the kernel-side rate: evidence for the policy that weighs it."""

    target = models.CharField(_("target"), max_length=100)
    ip = models.GenericIPAddressField(_("address"))
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="traffic_events"
    )
    observed_at = models.DateTimeField(_("observed"), default=timezone.now)
    connections = models.PositiveBigIntegerField(_("new connections in its minute"), default=0)

    class Meta:
        verbose_name = _("over-rate event")
        verbose_name_plural = _("over-rate events")
        ordering = ["-observed_at", "-id"]
        indexes = [models.Index(fields=["target", "ip", "observed_at"], name="traffic_event_recent")]

    def __str__(self) -> str:
        return f"{self.ip} over rate at {self.observed_at:%Y-%m-%d %H:%M}"
