"""Reads of one account: what is overdue, its open items, its statement for a period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import DecimalField, QuerySet, Sum
from django.db.models.expressions import RawSQL

from ledger.models import Account, Allocation, LedgerEntry
from ledger.models.entries import DEBIT_KINDS
from ledger.selectors.invoices import state_of

ZERO = Decimal("0")

#: what is open and past due on the account (``ledger_account`` is the outer row): the same
#: arithmetic as aging (open = debit − its allocations, late = today − due day > 0)
OVERDUE_SQL = (
    "SELECT COALESCE(sum(o.left_open), 0) FROM ("
    " SELECT e.amount - COALESCE((SELECT sum(a.amount) FROM ledger_allocation a"
    "  WHERE a.debit_id = e.id), 0) AS left_open"
    " FROM ledger_ledgerentry e WHERE e.account_id = ledger_account.id AND e.amount > 0"
    " AND e.kind = ANY(%s) AND COALESCE(e.due_on, e.booked_on) < %s) o WHERE o.left_open > 0"
)


def with_overdue(accounts: QuerySet, today: date) -> QuerySet:
    """``accounts`` annotated with ``overdue`` (open amount past its due day on ``today``)."""
    return accounts.annotate(overdue=RawSQL(  # noqa: S611 - constant SQL, values are params
        OVERDUE_SQL, ([str(k) for k in DEBIT_KINDS], today),
        output_field=DecimalField(max_digits=16, decimal_places=4)))


@dataclass(frozen=True)
class OpenItem:
    entry: LedgerEntry
    paid: Decimal
    state: str
    days_overdue: int

    @property
    def open(self) -> Decimal:
        return self.entry.amount - self.paid


def open_items(account: Account, today: date) -> list[OpenItem]:
    """The account's debits with something left to pay, oldest due first."""
    debits = list(LedgerEntry.objects.filter(account=account, amount__gt=0, kind__in=DEBIT_KINDS)
                  .select_related("account", "invoice", "credit_note", "payment")
                  .order_by("due_on", "booked_on", "seq"))
    paid = dict(Allocation.objects.filter(debit__in=[e.pk for e in debits]).values("debit_id")
                .annotate(s=Sum("amount")).values_list("debit_id", "s"))
    out = []
    for e in debits:
        got = paid.get(e.pk) or ZERO
        if got >= e.amount:
            continue
        state, late = state_of(e.amount, got, e.due_on or e.booked_on, today)
        out.append(OpenItem(e, got, state, late))
    out.sort(key=lambda i: (i.entry.due_on or i.entry.booked_on, i.entry.seq))
    return out


@dataclass
class StatementLine:
    entry: LedgerEntry
    running: Decimal


@dataclass
class Statement:
    account: Account
    start: date
    end: date
    opening: Decimal
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].running if self.lines else self.opening

    @property
    def debits(self) -> Decimal:
        return sum((x.entry.amount for x in self.lines if x.entry.amount > 0), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((x.entry.amount for x in self.lines if x.entry.amount < 0), ZERO)


def statement(account: Account, start: date, end: date) -> Statement:
    """Entries booked from ``start`` to ``end`` (local dates, both inclusive) in booking
    order, each with the running balance; opening = what was booked before ``start``, so
    opening + Σ amounts = closing."""
    entries = LedgerEntry.objects.filter(account=account)
    opening = entries.filter(booked_on__lt=start).aggregate(s=Sum("amount"))["s"] or ZERO
    st = Statement(account, start, end, opening)
    running = opening
    for e in (entries.filter(booked_on__gte=start, booked_on__lte=end)
              .select_related("account", "invoice", "credit_note", "payment", "reverses")
              .order_by("booked_on", "seq")):
        running += e.amount
        st.lines.append(StatementLine(e, running))
    return st
