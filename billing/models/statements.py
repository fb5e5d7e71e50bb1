"""PDF statements and their email deliveries.

Why separate rows rather than columns on the invoice: an issued invoice is immutable (a
database trigger refuses changes), but its PDF is produced afterwards in the background and
may be regenerated (a new logo, a failed render), and it may be emailed many times. Each of
those has its own status so a manager sees what failed and can retry it alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from billspree.core.scoping import OrganizationScopedModel


def statement_storage():
    """The ``statements`` storage alias (filesystem by default, S3-compatible by setting)."""
    from django.core.files.storage import storages

    return storages["statements"]


class StatementStatus(models.TextChoices):
    PENDING = "pending", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class InvoiceStatement(OrganizationScopedModel):
    """The PDF of an issued invoice."""

    invoice = models.OneToOneField("billing.Invoice", on_delete=models.CASCADE,
                                   related_name="statement")
    status = models.CharField(max_length=8, choices=StatementStatus.choices,
                              default=StatementStatus.PENDING)
    file = models.FileField(storage=statement_storage, upload_to="invoices/%Y/%m/", blank=True,
                            max_length=300)
    size = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    generated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Statement of {self.invoice} ({self.status})"


class BuildingStatement(OrganizationScopedModel):
    """The statement of building charges of one property and period, for the manager and
    the owner: totals per billing point and meter type, main meter against sub-meters,
    vacancy charged to the owner."""

    property = models.ForeignKey("meters.Property", on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    status = models.CharField(max_length=8, choices=StatementStatus.choices,
                              default=StatementStatus.PENDING)
    file = models.FileField(storage=statement_storage, upload_to="buildings/%Y/%m/", blank=True,
                            max_length=300)
    size = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["property", "period_start", "period_end"],
                                    name="building_statement_unique_period"),
        ]

    def __str__(self) -> str:
        return f"Building charges {self.property} {self.period_start:%Y-%m-%d}"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class StatementDelivery(OrganizationScopedModel):
    """One email of an invoice's statement to its tenant (a resend is a new row), or of
    the credit note that cancels it (``credit_note`` set; ``invoice`` is the one credited)."""

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE,
                                related_name="deliveries")
    credit_note = models.ForeignKey("billing.CreditNote", on_delete=models.CASCADE,
                                    null=True, blank=True, related_name="deliveries")
    recipient = models.EmailField(blank=True)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.QUEUED)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "statement deliveries"

    def __str__(self) -> str:
        return f"{self.invoice} → {self.recipient or '?'} ({self.status})"
