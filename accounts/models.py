"""The cloud customer (the unit port 25 is decided for), its people and its servers."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EmailUserManager(UserManager):
    """Users log in with their email address; there is no separate user name."""

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        # Addresses are stored in lower case: signing in must not depend on how one types it.
        return self.get(email__iexact=username)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None
    email = models.EmailField(_("email address"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = EmailUserManager()

    def __str__(self) -> str:
        return self.email


class Account(models.Model):
    reference = models.UUIDField(_("account ID"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    identity_verified_at = models.DateTimeField(_("identity verified at"), null=True, blank=True)
    identity_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("identity verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payment_verified_at = models.DateTimeField(_("payment method verified at"), null=True, blank=True)
    payment_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("payment method verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name"]
        # Apart from change_account, which reviewers hold: whoever records a verification is not the
        # one who approves on it (requests_app.review), so a reviewer cannot certify an account alone.
        permissions = [("record_verification_account", _("Can record identity and payment verification"))]

    def __str__(self) -> str:
        return self.name

    @property
    def identity_verified(self) -> bool:
        return self.identity_verified_at is not None

    @property
    def payment_verified(self) -> bool:
        return self.payment_verified_at is not None

    def record_verification(self, kind: str, by: User | None) -> None:
        """Record that a verification officer (or the platform's integration, with `by` None) verified it."""
        if kind not in ("identity", "payment"):
            raise ValueError(kind)
        setattr(self, f"{kind}_verified_at", timezone.now())
        setattr(self, f"{kind}_verified_by", by)
        self.save(update_fields=[f"{kind}_verified_at", f"{kind}_verified_by"])

    def missing_verifications(self) -> list[str]:
        """The verifications the provider requires (PORTAL_REQUIRED_VERIFICATIONS) that the account lacks.

        The one answer to "verified enough?": the review refuses an approval while it is not empty,
        the automatic policy approves nothing, and the account-signals check tells the customer.
        """
        required = settings.PORTAL_REQUIRED_VERIFICATIONS
        missing = []
        if "identity" in required and not self.identity_verified:
            missing.append(str(_("identity verification")))
        if "payment" in required and not self.payment_verified:
            missing.append(str(_("payment method verification")))
        return missing


class Membership(models.Model):
    """A person who acts for an account. A login belongs to one account."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.account}"


class ServerQuerySet(models.QuerySet):
    def active(self) -> "ServerQuerySet":
        return self.filter(deleted_at__isnull=True)


class Server(models.Model):
    """A customer's virtual machine, as the platform reports it."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="servers")
    external_id = models.CharField(
        _("platform ID"), max_length=100, unique=True, help_text=_("The platform's identifier of the server.")
    )
    hostname = models.CharField(_("hostname"), max_length=253)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects = ServerQuerySet.as_manager()

    class Meta:
        verbose_name = _("server")
        verbose_name_plural = _("servers")
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname


class ServerAddressQuerySet(models.QuerySet):
    def active(self) -> "ServerAddressQuerySet":
        return self.filter(released_at__isnull=True)

    def in_use(self) -> "ServerAddressQuerySet":
        """Held now by a server that still exists: what the firewall and the customer's page count."""
        return self.active().filter(server__deleted_at__isnull=True)

    def held_at(self, moment) -> "ServerAddressQuerySet":
        """Addresses as the inventory stood at `moment` (abuse reports refer to the past), latest first.

        `moment` may be an expression (OuterRef): the abuse worker matches a batch in one UPDATE.
        """
        held = self.filter(assigned_at__lte=moment).filter(Q(released_at__isnull=True) | Q(released_at__gt=moment))
        return held.order_by("-assigned_at", "-pk")


class ServerAddress(models.Model):
    """A public IP of a server. Released rows are kept: they are the inventory's history."""

    server = models.ForeignKey(Server, on_delete=models.PROTECT, related_name="addresses")
    ip = models.GenericIPAddressField(_("IP address"))
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    objects = ServerAddressQuerySet.as_manager()

    class Meta:
        verbose_name = _("server address")
        verbose_name_plural = _("server addresses")
        ordering = ["ip"]
        constraints = [
            models.UniqueConstraint(
                fields=["ip"], condition=Q(released_at__isnull=True), name="one_active_holder_per_ip"
            ),
        ]
        # Abuse matching looks an address up in the whole history, released rows included.
        indexes = [models.Index(fields=["ip", "assigned_at"], name="address_history_idx")]

    def __str__(self) -> str:
        return self.ip


class HashedToken(models.Model):
    """An API credential of which only a digest is stored: a leaked database leaks no working token."""

    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        abstract = True

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, **fields: object) -> tuple["HashedToken", str]:
        """Create a token; the raw value is returned once and never stored."""
        raw = secrets.token_urlsafe(32)
        return cls.objects.create(digest=cls.digest_of(raw), **fields), raw

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PlatformToken(HashedToken):
    """A credential of the cloud platform, which reports servers as they are created and deleted."""

    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("platform API token")
        verbose_name_plural = _("platform API tokens")

    def __str__(self) -> str:
        return self.name


class CustomerToken(HashedToken):
    """A customer's credential for the REST API, created and revoked on their API page."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("customer API token")
        verbose_name_plural = _("customer API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user}: {self.name}"
