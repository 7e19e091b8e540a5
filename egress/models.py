"""The desired port-25 state of each account: the truth the firewall is made to match."""

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


class AccountEgress(models.Model):
    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="egress")
    desired = models.CharField(
        _("desired state"), max_length=10, choices=EgressState.choices, default=EgressState.BLOCKED
    )
    source = models.CharField(_("source"), max_length=10, choices=EgressSource.choices, default=EgressSource.DEFAULT)
    reason = models.TextField(_("reason"), blank=True)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("account egress")
        verbose_name_plural = _("account egress")

    def __str__(self) -> str:
        return f"{self.account}: {self.get_desired_display()}"
