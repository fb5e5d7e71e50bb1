"""What billing charged, summed by billing point, local month and meter type: the cost
side of the energy dashboard and reports (issue 18: "cost rollups from issued invoices").

Written only by the database (``billing_cost_refresh``, migration 0018), from triggers on
what can change a sum: an invoice entering or leaving *issued/paid* (issued, voided), a
credit note's lines, a property's time zone or a billing point's property (they move an
invoice to another local month). Issued invoices and credit notes are immutable (migrations
0003, 0007), so nothing else can. A trigger, not a service, because invoices change status
in bulk (bill runs, set-based updates) as well as one by one, and a sum that one code path
forgot would be silently wrong on every dashboard.
"""

from __future__ import annotations

from django.db import models

from billing.models.invoices import AMOUNT
from billspree.core.scoping import OrganizationOwnedModel

__all__ = ["MonthlyCost"]


class MonthlyCost(OrganizationOwnedModel):
    """Net amount of a billing point's issued (and paid) invoices whose period begins in a
    local month (its property's zone), less their credit notes, by meter type ("" for
    standing charges and add-ons) and currency: what the invoice lines say, summed."""

    pk = models.CompositePrimaryKey("billing_point_id", "month", "meter_type", "currency")
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", editable=False,
        db_index=False,
    )
    billing_point = models.ForeignKey("meters.BillingPoint", on_delete=models.CASCADE,
                                      related_name="+", db_index=False, editable=False)
    month = models.DateField(help_text="First day of the local month the periods begin in.")
    meter_type = models.CharField(max_length=16, blank=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["billing_point_id", "month", "meter_type", "currency"]
        indexes = [models.Index(fields=["organization", "month"], name="monthlycost_org_month")]

    def __str__(self) -> str:
        return f"{self.billing_point_id} {self.month:%Y-%m} {self.meter_type}: {self.amount}"
