"""Adjustments: late data about a period that is already issued.

"Issued is final; late data becomes an adjustment" (``DESIGN.md``). When a reading, a move
or a meter change alters what a tenant should have been billed for an issued period, the
issued invoice stays as it is and the difference — per charge (rule) of the period, per
meter for usage — is recorded here, as a delta of quantity and amount, for the tenant who
should pay (or be credited) it. It points at the invoice whose period it corrects and, for
usage, at the readings the corrected quantity was measured from.

A pending adjustment is billed on the tenant's next invoice (an ``adjustment`` line,
and for usage an adjustment :class:`~billing.models.BilledPeriod` that references the period
it adjusts), or settled by the manager with a credit note. Voiding the draft that carries it
makes it pending again.

Billed exactly once: for every (period, tenant, charge) the original lines plus all the
adjustments of that period equal what the current data says; the adjustments are computed as
that difference, under a lock of the billing point, so a repeated or concurrent notification
adds nothing (see ``billing.services.adjustments``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing.models.invoices import AMOUNT
from billspree.core.scoping import OrganizationScopedModel


class Adjustment(OrganizationScopedModel):
    original_invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="adjustments",
        help_text="The issued invoice of the period that changed.",
    )
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    billing_point = models.ForeignKey(
        "meters.BillingPoint", on_delete=models.PROTECT, related_name="+"
    )
    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    kind = models.CharField(max_length=10, help_text="The kind of line it adjusts.")
    charge = models.CharField(max_length=300, help_text="The charge (rule) it adjusts.")
    meter_type = models.CharField(max_length=16, blank=True)
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assignment = models.ForeignKey(
        "meters.MeterAssignment", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    adjusts = models.ForeignKey(
        "billing.BilledPeriod", on_delete=models.PROTECT, null=True, blank=True,
        related_name="adjustments", help_text="The billed period of the meter it adjusts.",
    )
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    unit = models.CharField(max_length=16, blank=True)
    unit_price = models.DecimalField(max_digits=16, decimal_places=6)
    amount = models.DecimalField(**AMOUNT)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    tax_amount = models.DecimalField(**AMOUNT)
    # the readings the corrected quantity comes from (usage)
    start_read_at = models.DateTimeField(null=True, blank=True)
    start_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    end_read_at = models.DateTimeField(null=True, blank=True)
    end_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    estimated = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, help_text="The change that caused it.")
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True,
        related_name="adjustments_carried", help_text="The later invoice that bills it.",
    )
    credit_note = models.ForeignKey(
        "billing.CreditNote", on_delete=models.PROTECT, null=True, blank=True,
        related_name="adjustments", help_text="The credit note that settled it instead.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice__isnull=True) | Q(credit_note__isnull=True),
                name="adjustment_settled_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charge} {self.quantity:+} {self.unit} ({self.amount:+})"

    @property
    def status(self) -> str:
        if self.credit_note_id:
            return "credited"
        if self.invoice_id:
            return "on_invoice"
        return "pending"
