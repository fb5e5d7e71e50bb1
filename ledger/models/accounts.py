"""An account: who pays, in one currency.

One account per tenant and currency in an organization (the owner is a tenant too, so
vacancies billed to the owner land on the owner's account). Nearly every tenant has one
currency; a tenant billed in two currencies gets two accounts rather than one account with
mixed balances, because a balance that adds CHF to EUR means nothing and every allocation,
aging bucket and reminder would have to split by currency anyway.

``balance`` and ``last_seq`` are a cache of the ledger for speed (the account page, aging
over 10,000 accounts). They are written only by ``ledger.services.posting.post`` under the
account's row lock, and the database proves them at commit (migration 0002): ``balance``
equals ``balance_after`` of entry ``last_seq``, which equals the sum of all entries.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from djmoney.models.fields import CurrencyField
from moneyed import Money

from billspree.core.scoping import OrganizationScopedModel


class AccountKind(models.TextChoices):
    POSTPAID = "postpaid", "Postpaid"
    PREPAID = "prepaid", "Prepaid"


class Account(OrganizationScopedModel):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="accounts")
    currency = CurrencyField()
    kind = models.CharField(max_length=8, choices=AccountKind.choices,
                            default=AccountKind.POSTPAID)
    #: receives this account's bills: a company with several shops gets one summary per
    #: period; the child's own entries stay on the child (its credit is not the parent's)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children")
    balance = models.DecimalField(max_digits=16, decimal_places=4, default=Decimal("0"),
                                  editable=False)
    last_seq = models.BigIntegerField(default=0, editable=False)
    #: dunning waits until this local date ("payment promised until …")
    dunning_paused_until = models.DateField(null=True, blank=True)
    dunning_pause_reason = models.CharField(max_length=200, blank=True)
    #: set by the last dunning level; the prepaid issue drives the relay from it
    disconnection_pending_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "tenant", "currency"],
                                    name="account_one_per_tenant_currency"),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="account_seq_positive"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")),
                                   name="account_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant.name} ({self.currency})"

    def money(self, value: Decimal) -> Money:
        return Money(value, str(self.currency))
