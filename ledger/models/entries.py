"""Ledger entries and allocations: append-only, proven by the database.

Sign: an entry's ``amount`` is what it adds to what the tenant owes. An invoice, a fee, a
bounced payment or a refund paid out are positive (debits); a payment, a credit note or a
write-off are negative (credits). ``balance > 0`` means the tenant owes; ``< 0`` is credit.

Each account's entries form a chain: ``seq`` 1, 2, 3 … with no gap (UNIQUE(account, seq))
and ``balance_after`` = the previous entry's ``balance_after`` + ``amount``. Triggers
(migration 0002) refuse an UPDATE or DELETE of an entry, an insert that breaks the chain,
and an account whose cached balance is not its last entry's ``balance_after``. A mistake
is corrected by a new entry (``reverses``).

An **allocation** says which credit paid which debit: ``amount`` of credit entry
``credit`` went to debit entry ``debit`` (an invoice or a fee). An invoice's paid amount is
the sum of the allocations to its entry, so its status (open, partially paid, paid,
overdue) is derived, never set by hand. Allocations are append-only too: undoing one (a
bounced payment) adds a negative allocation.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from billspree.core.scoping import OrganizationScopedModel

AMOUNT = {"max_digits": 16, "decimal_places": 4}


class EntryKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"
    PAYMENT = "payment", "Payment"
    PAYMENT_REVERSAL = "payment_reversal", "Payment reversed (bounced)"
    REFUND = "refund", "Refund"
    WRITE_OFF = "write_off", "Write-off"
    ADJUSTMENT = "adjustment", "Adjustment"
    OPENING_BALANCE = "opening_balance", "Opening balance"
    FEE = "fee", "Reminder fee"


#: kinds that can be paid by allocations (they make the tenant owe something specific)
DEBIT_KINDS = (EntryKind.INVOICE, EntryKind.FEE, EntryKind.OPENING_BALANCE,
               EntryKind.ADJUSTMENT, EntryKind.PAYMENT_REVERSAL, EntryKind.REFUND)


class LedgerEntry(OrganizationScopedModel):
    account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT,
                                related_name="entries")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    amount = models.DecimalField(**AMOUNT)
    balance_after = models.DecimalField(**AMOUNT)
    #: the local date the entry counts from (issue day, day the money arrived)
    booked_on = models.DateField()
    #: debits only: when it must be paid (the invoice's due date; a fee's)
    due_on = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=300)
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="ledger_entries")
    credit_note = models.ForeignKey("billing.CreditNote", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="ledger_entries")
    payment = models.ForeignKey("ledger.Payment", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="entries")
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reversed_by")
    #: fees carry their own VAT (``amount`` is gross)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    tax_amount = models.DecimalField(**AMOUNT, default=Decimal("0"))
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "seq"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["account", "seq"], name="entry_chain_unique_seq"),
            models.UniqueConstraint(fields=["organization", "idempotency_key"],
                                    name="entry_unique_idempotency_key"),
            models.UniqueConstraint(fields=["invoice"], condition=Q(kind="invoice"),
                                    name="entry_invoice_posted_once"),
            models.UniqueConstraint(fields=["credit_note"], condition=Q(kind="credit_note"),
                                    name="entry_credit_note_posted_once"),
            models.UniqueConstraint(fields=["payment"], condition=Q(kind="payment"),
                                    name="entry_payment_posted_once"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="entry_seq_positive"),
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
        ]
        indexes = [
            models.Index(fields=["organization", "kind", "due_on"], name="entry_debit_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} (#{self.seq})"

    @property
    def is_debit(self) -> bool:
        return self.amount > 0


class Allocation(OrganizationScopedModel):
    # indexed by Meta.indexes below (one index each, not two)
    credit = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="allocated",
                               db_index=False)
    debit = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="paid_by",
                              db_index=False)
    #: negative: an earlier allocation undone (the payment bounced)
    amount = models.DecimalField(**AMOUNT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="allocation_amount_not_zero"),
        ]
        indexes = [models.Index(fields=["debit"], name="allocation_debit"),
                   models.Index(fields=["credit"], name="allocation_credit")]

    def __str__(self) -> str:
        return f"{self.amount} of entry {self.credit_id} to entry {self.debit_id}"
