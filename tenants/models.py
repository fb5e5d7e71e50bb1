"""Tenants, who owns what, occupancies, registered moves and RFID badges.

The database, not only Python, keeps time periods sane: no two occupancies of one
billing point overlap and no badge has two holders at once (exclusion constraints over a
``tstzrange``, half-open ``[start, end)``, an open end meaning "until further notice").
Instants are aware and stored in UTC; a plain date entered by a person means midnight in
the property's time zone (see :func:`tenants.services.to_instant`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Q

from billspree.core.db import TstzRange  # migrations refer to it as tenants.models.TstzRange
from billspree.core.postal import PostalAddressFields
from billspree.core.scoping import OrganizationScopedModel
from billspree.core.validators import validate_one_line
from meters.models import BillingPoint, Property


def one_at_a_time(
    *, key: str, start: str, end: str, ordered: str, no_overlap: str
) -> list[models.BaseConstraint]:
    """The database's guard of a holding over [start, end): the end (when set) is after the
    start, and two holdings of one ``key`` never overlap."""
    return [
        models.CheckConstraint(
            condition=Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gt": F(start)}),
            name=ordered,
        ),
        ExclusionConstraint(
            name=no_overlap,
            expressions=[
                (key, RangeOperators.EQUAL),
                (TstzRange(start, end), RangeOperators.OVERLAPS),
            ],
        ),
    ]


class Tenant(PostalAddressFields, OrganizationScopedModel):
    """Whoever is billed for a billing point: a person, a company, or the owner."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        COMPANY = "company", "Company"

    class Language(models.TextChoices):
        EN = "en", "English"
        DE = "de", "German"
        FR = "fr", "French"
        IT = "it", "Italian"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(validators=[validate_one_line], max_length=200)
    contact_person = models.CharField(
        max_length=200, blank=True, help_text="Who to talk to at a company tenant."
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    language = models.CharField(
        max_length=2,
        choices=Language.choices,
        default=Language.EN,
        help_text="Language of statements and emails.",
    )
    customer_number = models.CharField(
        max_length=32, help_text="Unique in the organization; left empty, the next number."
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "customer_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer_number"], name="tenant_unique_customer_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_number})"


class Ownership(OrganizationScopedModel):
    """The owner of a property, or of one billing point of it (an override).

    Why here and like this: vacant periods are billed to the owner, who is a tenant, so
    ownership must point at :class:`Tenant`; meters sits below tenants and may not import
    it, hence this table rather than a field on ``BillingPoint``. A rental block has one
    owner for every unit (one row per property, billing_point empty); in a condominium
    single units belong to different people (a row per billing point overrides the
    property's owner). Two partial unique indexes allow at most one owner per property
    and one override per billing point. Ownership is not effective-dated: after a sale
    the new owner is recorded and past vacancies are reported under them too (bills
    already issued are immutable, so nothing billed changes).
    """

    owner = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="ownerships")
    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+")
    billing_point = models.ForeignKey(
        BillingPoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: the owner of every billing point of the property without an override.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["property__name", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["property"],
                condition=Q(billing_point__isnull=True),
                name="ownership_one_per_property",
            ),
            models.UniqueConstraint(
                fields=["billing_point"],
                condition=Q(billing_point__isnull=False),
                name="ownership_one_per_billing_point",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner.name} owns {self.billing_point or self.property}"


class Occupancy(OrganizationScopedModel):
    """A tenant at a billing point over [move_in, move_out); open move_out = still there."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="occupancies")
    billing_point = models.ForeignKey(
        BillingPoint, on_delete=models.PROTECT, related_name="occupancies"
    )
    move_in = models.DateTimeField()
    move_out = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "occupancies"
        ordering = ["-move_in"]
        indexes = [models.Index(fields=["billing_point", "move_in"], name="occupancy_bp_move_in")]
        constraints = one_at_a_time(
            key="billing_point", start="move_in", end="move_out",
            ordered="occupancy_move_out_after_move_in",
            no_overlap="occupancy_no_overlap_per_billing_point",
        )

    def __str__(self) -> str:
        return f"{self.tenant.name} at {self.billing_point.name}"

    @property
    def is_open(self) -> bool:
        return self.move_out is None


class Move(OrganizationScopedModel):
    """A registered move: who left, who came (nobody = vacancy) and the meters at that instant.

    ``readings`` keeps the register values given with the move (meter serial → value as
    text, Decimal-exact) so the move record shows what was read even after the readings
    themselves are corrected; they are also ingested as readings when given.
    """

    billing_point = models.ForeignKey(BillingPoint, on_delete=models.PROTECT, related_name="+")
    moved_at = models.DateTimeField()
    outgoing = models.ForeignKey(
        Occupancy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    incoming = models.ForeignKey(
        Occupancy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    readings = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-moved_at", "-id"]

    def __str__(self) -> str:
        return f"Move at {self.billing_point.name} on {self.moved_at:%Y-%m-%d}"

    @property
    def is_vacancy(self) -> bool:
        return self.incoming_id is None


class RfidBadge(OrganizationScopedModel):
    """An RFID badge (EV charging, laundry) identified by the UID its reader reports."""

    uid = models.CharField(max_length=64, help_text="As the reader reports it, e.g. 04A2B3C4D5.")
    label = models.CharField(validators=[validate_one_line], max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "RFID badge"
        ordering = ["uid"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "uid"], name="badge_unique_uid")
        ]

    def __str__(self) -> str:
        return f"{self.uid} {self.label}".strip()


class BadgeAssignment(OrganizationScopedModel):
    """A badge held by a tenant over [assigned_at, returned_at); one holder at a time."""

    badge = models.ForeignKey(RfidBadge, on_delete=models.PROTECT, related_name="assignments")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="badge_assignments")
    assigned_at = models.DateTimeField()
    returned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-assigned_at"]
        constraints = one_at_a_time(
            key="badge", start="assigned_at", end="returned_at",
            ordered="badge_returned_after_assigned", no_overlap="badge_one_holder_at_a_time",
        )

    def __str__(self) -> str:
        return f"{self.badge.uid} held by {self.tenant.name}"


class TenantAccess(OrganizationScopedModel):
    """A tenant's login to the tenant portal: an invitation, then (accepted) a user.

    Why a row of its own rather than a Membership: a tenant is not a member of the
    organization and must never reach a manager page; its only way in is ``/my/``, and
    what it sees there is scoped to ``tenant`` (see :mod:`tenants.portal`). Only a SHA-256
    of the one-time link's token is stored; revoking ends access at the next request.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="portal_accesses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="tenant_accesses", help_text="Empty until the invitation is accepted.",
    )
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    invited_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "tenant portal access"
        ordering = ["-invited_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(revoked_at__isnull=True),
                name="tenant_access_one_live_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=Q(revoked_at__isnull=True, user__isnull=False),
                name="tenant_access_one_live_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"Portal access of {self.tenant.name} ({self.email})"

    @property
    def status(self) -> str:
        """revoked, active (accepted), expired or invited: what the manager's panel shows."""
        from django.utils import timezone

        if self.revoked_at is not None:
            return "revoked"
        if self.accepted_at is not None:
            return "active"
        return "expired" if self.expires_at <= timezone.now() else "invited"
