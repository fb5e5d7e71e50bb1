"""A payment: money received for an account (by hand, by API, from a bank file).

The payment row describes the money (method, reference, payer); its effect on the balance
is its ledger entry (kind ``payment``), and what it paid is that entry's allocations. A
bounced payment keeps its row and gets a reversal entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from djmoney.models.fields import CurrencyField

from billspree.core.scoping import OrganizationScopedModel
from ledger.models.entries import AMOUNT


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    DIRECT_DEBIT = "direct_debit", "Direct debit"
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    OTHER = "other", "Other"


class Payment(OrganizationScopedModel):
    account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT,
                                related_name="payments")
    amount = models.DecimalField(**AMOUNT)
    currency = CurrencyField()
    received_on = models.DateField()
    method = models.CharField(max_length=16, choices=PaymentMethod.choices,
                              default=PaymentMethod.BANK_TRANSFER)
    #: structured reference (QR reference / RF creditor reference) or the payer's text
    reference = models.CharField(max_length=140, blank=True)
    remittance = models.CharField(max_length=500, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    #: the bank's id of the line it came from (bank imports: a line is paid in once)
    bank_reference = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(fields=["organization", "idempotency_key"],
                                    name="payment_unique_idempotency_key"),
            models.UniqueConstraint(fields=["organization", "bank_reference"],
                                    condition=~Q(bank_reference=""),
                                    name="payment_bank_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.received_on}"
