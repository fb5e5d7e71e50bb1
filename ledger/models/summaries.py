"""Parent summaries: one bill for a company's many shops or flats.

A parent account receives its children's bills: for a period, a summary lists every child
invoice issued in it and its total is their sum to the cent (a database trigger keeps
``total`` equal to Σ items). The children's entries stay on the children's accounts — a
child's credit is not the parent's (KB#553) — the summary is the document the parent pays
from, with each child's statement attached to its PDF.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from djmoney.models.fields import CurrencyField

from billspree.core.scoping import OrganizationScopedModel
from ledger.models.entries import AMOUNT


class ParentSummary(OrganizationScopedModel):
    account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT,
                                related_name="summaries")
    #: inclusive local dates of the issue days it covers
    first_day = models.DateField()
    last_day = models.DateField()
    currency = CurrencyField()
    total = models.DecimalField(**AMOUNT, default=Decimal("0"))
    #: the reference the parent quotes when it pays the summary (QR reference with a
    #: QR-IBAN in CHF, RF creditor reference otherwise), given at creation and stored like
    #: ``Invoice.payment_reference``; a payment quoting it is split over the children's
    #: invoices on it (``ledger.services.summaries``)
    payment_reference = models.CharField(max_length=32, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-first_day", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["account", "first_day", "last_day"],
                                    name="summary_one_per_parent_period"),
            models.CheckConstraint(condition=Q(last_day__gte=F("first_day")),
                                   name="summary_period_in_order"),
            models.UniqueConstraint(fields=["organization", "payment_reference"],
                                    condition=~Q(payment_reference=""),
                                    name="summary_unique_payment_reference"),
        ]

    def __str__(self) -> str:
        return f"Summary {self.account} {self.first_day}–{self.last_day}"


class ParentSummaryItem(OrganizationScopedModel):
    summary = models.ForeignKey(ParentSummary, on_delete=models.CASCADE, related_name="items")
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT,
                                   related_name="parent_summary_item")
    child = models.ForeignKey("ledger.Account", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["child__tenant__name", "invoice__number"]

    def __str__(self) -> str:
        return f"{self.invoice} on {self.summary}"
