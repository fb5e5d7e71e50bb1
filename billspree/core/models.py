"""Organizations (the SaaS customers), their members, invitations, API keys and audit trail."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from djmoney.models.fields import CurrencyField
from timezone_field import TimeZoneField

from billspree.core.banking import iban_or_raw, validate_bic, validate_iban
from billspree.core.files import random_name, uploads_storage
from billspree.core.postal import PostalAddressFields
from billspree.core.scoping import OrganizationScopedModel
from billspree.core.timefmt import format_day, format_instant, local_datetime
from billspree.core.validators import validate_one_line


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("Users log in with their email address; it is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in, by email. Organizations and roles come from memberships."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(validators=[validate_one_line], max_length=150, blank=True)
    last_name = models.CharField(validators=[validate_one_line], max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email


class Role(models.TextChoices):
    """Ordered from most to least powerful; ``at_least`` compares by this order."""

    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"

    @classmethod
    def rank(cls, role: str) -> int:
        order = [cls.VIEWER, cls.OPERATOR, cls.MANAGER, cls.ADMIN]
        return order.index(cls(role))

    @classmethod
    def at_least(cls, role: str, required: str) -> bool:
        return cls.rank(role) >= cls.rank(required)


LOGO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def logo_path(instance: Organization, filename: str) -> str:
    return random_name("logos", filename, extensions=LOGO_EXTENSIONS)


class Organization(PostalAddressFields, models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(validators=[validate_one_line], max_length=200)
    default_currency = CurrencyField(default="EUR")
    time_zone = TimeZoneField(default="UTC", use_pytz=False)
    # private storage, random name; pages show it through the scoped logo views
    # (portal:organization_logo, my:logo), PDFs inline it as a data: URI
    logo = models.ImageField(storage=uploads_storage, upload_to=logo_path, blank=True,
                             max_length=200)
    brand_color = models.CharField(
        max_length=7, default="#1f6feb",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour such as #1f6feb.")],
        help_text="Accent colour of statements and emails (#rrggbb).",
    )
    address = models.TextField(blank=True, help_text="Printed in the statement header.")
    payment_details = models.TextField(
        blank=True, help_text="Bank, IBAN, BIC, reference rules: printed on every statement.",
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        default=14, help_text="Days from issue to the due date printed on statements.",
    )
    iban = models.CharField(
        "IBAN", max_length=34, blank=True, validators=[validate_iban],
        help_text="Account tenants pay into: printed as a QR-bill (CHF) or an EPC QR code "
                  "(EUR) on statements. A Swiss QR-IBAN gets QR references.",
    )
    bic = models.CharField("BIC", max_length=11, blank=True, validators=[validate_bic],
                           help_text="Optional; printed in the EPC QR code of EUR statements.")
    vat_number = models.CharField(
        "VAT number", max_length=40, blank=True, validators=[validate_one_line],
        help_text="UID/MWST (CHE-123.456.789 MWST) or USt-IdNr. (DE123456789): statement header.",
    )
    default_vat_rate = models.DecimalField(
        "default VAT rate", max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="VAT in percent that new charge rules and add-ons start with.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Store the IBAN and BIC compact and upper-case (the validators have already
        refused a bad one), so the statements and payment matching compare like with like."""
        super().clean()
        if self.iban:
            self.iban = iban_or_raw(self.iban)  # validate_iban reports a bad one
        self.bic = "".join((self.bic or "").split()).upper()

    @property
    def logo_version(self) -> str:
        """Changes with the logo, so its URL (``?v=``) can be cached by the browser."""
        return hashlib.sha256(self.logo.name.encode()).hexdigest()[:12] if self.logo else ""


class Membership(OrganizationScopedModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__email"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Invitation(OrganizationScopedModel):
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} as {self.role}"


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"


class ApiKey(OrganizationScopedModel):
    """A service credential. Only a SHA-256 of the secret is stored; it is shown once."""

    name = models.CharField(validators=[validate_one_line], max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=8, choices=ApiKeyScope.choices))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    #: From this instant the key answers 401 ("expired"); none: it works until revoked.
    #: The portal sets local midnight of the chosen day in the organization's time zone.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def expiry_text(self) -> str:
        """The expiry as people say it in the organization's time zone: "31 Dec 2026"
        at local midnight (what the portal sets), else with the clock and zone."""
        if self.expires_at is None:
            return ""
        local = local_datetime(self.expires_at, self.organization)
        if (local.hour, local.minute, local.second) == (0, 0, 0):
            return format_day(local, self.organization)
        return format_instant(local, self.organization, zone_name=True)

    @property
    def role(self) -> str:
        """The member role a key acts with: write keys manage data, never members or keys."""
        return Role.MANAGER if ApiKeyScope.WRITE in self.scopes else Role.VIEWER


class AuditEvent(OrganizationScopedModel):
    """Who did what, when: members, keys, settings, and later relays and invoices."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"

    @property
    def who(self) -> str:
        """The member, the API key, or "system": many events (the demo seed, scheduled
        runs, a tenant accepting an invitation) have neither a person nor a key behind
        them, and the person or key may since have been deleted."""
        if self.actor_id and self.actor is not None:
            return self.actor.email
        if self.api_key_id and self.api_key is not None:
            return f"API key “{self.api_key.name}”"
        return "system"

    @property
    def detail_items(self) -> list[tuple[str, object]]:
        """``detail`` as pairs: a template's ``detail.items`` would look up a key named
        "items" first."""
        return sorted(self.detail.items()) if isinstance(self.detail, dict) else []
