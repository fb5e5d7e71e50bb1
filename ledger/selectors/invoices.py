"""What is paid and open on invoices, derived from allocations (never set by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from ledger.models import Account, Allocation, EntryKind, LedgerEntry

ZERO = Decimal("0")


class PayState:
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"

    LABELS = {OPEN: "Open", PARTIALLY_PAID: "Partially paid", PAID: "Paid",
              OVERDUE: "Overdue"}


@dataclass(frozen=True)
class InvoiceMoney:
    invoice_id: int
    entry_id: int
    total: Decimal
    paid: Decimal
    due_on: date | None
    state: str
    days_overdue: int

    @property
    def open(self) -> Decimal:
        return self.total - self.paid

    @property
    def label(self) -> str:
        label = PayState.LABELS[self.state]
        if self.state == PayState.OVERDUE and self.paid > ZERO:
            label += " (part paid)"
        return label


def state_of(total: Decimal, paid: Decimal, due_on: date | None, today: date) -> tuple[str, int]:
    if paid >= total:
        return PayState.PAID, 0
    if due_on is not None and today > due_on:
        return PayState.OVERDUE, (today - due_on).days
    return (PayState.PARTIALLY_PAID if paid > ZERO else PayState.OPEN), 0


def invoices_money(invoice_ids, today: date) -> dict[int, InvoiceMoney]:
    """The payment state of each invoice on the ledger, in two queries."""
    entries = list(LedgerEntry.objects.filter(kind=EntryKind.INVOICE, invoice_id__in=invoice_ids)
                   .values_list("pk", "invoice_id", "amount", "due_on"))
    paid = dict(Allocation.objects.filter(debit_id__in=[e[0] for e in entries])
                .values("debit_id").annotate(s=Sum("amount")).values_list("debit_id", "s"))
    out = {}
    for pk, invoice_id, amount, due_on in entries:
        got = paid.get(pk) or ZERO
        state, late = state_of(amount, got, due_on, today)
        out[invoice_id] = InvoiceMoney(invoice_id, pk, amount, got, due_on, state, late)
    return out


def open_amounts(invoice_ids: list[int]) -> dict[int, Decimal]:
    """What is open on each invoice on the ledger (for billing's tenant pages, through
    ``billspree.core.ledger_hooks``): two queries."""
    entries = list(LedgerEntry.objects.filter(kind=EntryKind.INVOICE, invoice_id__in=invoice_ids)
                   .values_list("pk", "invoice_id", "amount"))
    paid = dict(Allocation.objects.filter(debit_id__in=[e[0] for e in entries])
                .values("debit_id").annotate(s=Sum("amount")).values_list("debit_id", "s"))
    return {invoice_id: amount - (paid.get(pk) or ZERO) for pk, invoice_id, amount in entries}


def invoice_open_amount(invoice) -> tuple[Decimal, Account | None]:
    """What is still open on ``invoice`` and the account it is on (None: not on the
    ledger — issued before it existed)."""
    entry = (LedgerEntry.objects.filter(kind=EntryKind.INVOICE, invoice=invoice)
             .select_related("account").first())
    if entry is None:
        return ZERO, None
    paid = entry.paid_by.aggregate(s=Sum("amount"))["s"] or ZERO
    return entry.amount - paid, entry.account
