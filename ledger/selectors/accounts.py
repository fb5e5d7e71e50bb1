"""What the account pages read: the list of accounts with what they owe and how late, one
account's open items, entries and payments, and its statement of account for a period.

Open amounts are the debits' amounts less their allocations (the arithmetic of
``ledger.selectors.aging`` and ``invoices``); late days count from the debit's due date
(its booking day when it has none), against the organization's local ``today``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from ledger.models import Account, Allocation, EntryKind, LedgerEntry, Payment
from ledger.models.entries import AMOUNT, DEBIT_KINDS
from ledger.selectors.aging import BUCKET_KEYS
from ledger.selectors.invoices import PayState, state_of

ZERO = Decimal("0")
MONEY = DecimalField(**AMOUNT)

#: ?sort= of the accounts list → ordering
SORTS = {
    "name": ("tenant__name", "currency"),
    "balance": ("-balance", "tenant__name"),
    "overdue": ("-overdue", "-balance", "tenant__name"),
    "selected": ("-selected", "tenant__name"),
}


def _paid_sq():
    return Subquery(Allocation.objects.filter(debit=OuterRef("pk")).order_by()
                    .values("debit").annotate(s=Sum("amount")).values("s"), output_field=MONEY)


def open_debits() -> QuerySet[LedgerEntry]:
    """Debit entries still (partly) open, each annotated with ``open`` and ``due``."""
    return (LedgerEntry.objects.filter(amount__gt=0, kind__in=DEBIT_KINDS)
            .annotate(open=F("amount") - Coalesce(_paid_sq(), Value(ZERO), output_field=MONEY),
                      due=Coalesce("due_on", "booked_on"))
            .filter(open__gt=0))


def bucket_q(bucket: str, today: date) -> Q:
    """The open debits of an aging bucket (as ``ledger.selectors.aging`` cuts them)."""
    if bucket == "not_due":
        return Q(due__gte=today)
    if bucket == "overdue":
        return Q(due__lt=today)
    lo, hi = {"d1_30": (1, 30), "d31_60": (31, 60), "d61_90": (61, 90),
              "d90_plus": (91, None)}[bucket]
    q = Q(due__lte=today - timedelta(days=lo))
    if hi is not None:
        q &= Q(due__gte=today - timedelta(days=hi))
    return q


def _debits() -> QuerySet[LedgerEntry]:
    return (LedgerEntry.objects.filter(amount__gt=0, kind__in=DEBIT_KINDS)
            .annotate(due=Coalesce("due_on", "booked_on")))


def _allocations() -> QuerySet[Allocation]:
    return (Allocation.objects.filter(debit__amount__gt=0, debit__kind__in=DEBIT_KINDS)
            .annotate(due=Coalesce("debit__due_on", "debit__booked_on")))


def _sum_open(q: Q | None = None, property_id: int | None = None):
    """Per account (``OuterRef("pk")``): what is open on its debits matching ``q`` (on
    ``due``) and the property. Allocations never exceed their debit, so the open amount of
    a set of debits is Σ amounts − Σ their allocations: two plain aggregates."""
    q = q if q is not None else Q()
    debits, paid = _debits().filter(q), _allocations().filter(q)
    if property_id is not None:
        debits = debits.filter(invoice__billing_point__property_id=property_id)
        paid = paid.filter(debit__invoice__billing_point__property_id=property_id)
    owed = Subquery(debits.filter(account=OuterRef("pk")).order_by().values("account")
                    .annotate(s=Sum("amount")).values("s"), output_field=MONEY)
    got = Subquery(paid.filter(debit__account=OuterRef("pk")).order_by()
                   .values("debit__account").annotate(s=Sum("amount")).values("s"),
                   output_field=MONEY)
    return (Coalesce(owed, Value(ZERO), output_field=MONEY)
            - Coalesce(got, Value(ZERO), output_field=MONEY))


@dataclass
class AccountFilters:
    q: str = ""
    property_id: int | None = None
    tenant_id: int | None = None
    #: "" (any), "overdue" (anything overdue), or an aging bucket key
    bucket: str = ""
    currency: str = ""
    sort: str = "name"


def with_overdue(accounts: QuerySet[Account], today: date) -> QuerySet[Account]:
    """``accounts`` annotated with ``overdue``: what is open and past its due day."""
    return accounts.annotate(overdue=_sum_open(Q(due__lt=today)))


def account_list(filters: AccountFilters, today: date) -> QuerySet[Account]:
    """Accounts with ``overdue`` (open and past due) and, when a property or a bucket is
    chosen, ``selected``: what is open in that selection — the number the finance page
    linked from, so the rows add up to it. Set-based: one statement for the page."""
    qs = Account.objects.select_related("tenant", "parent__tenant").annotate(
        overdue=_sum_open(Q(due__lt=today)))
    if filters.q:
        qs = qs.filter(Q(tenant__name__icontains=filters.q)
                       | Q(tenant__customer_number__icontains=filters.q))
    if filters.tenant_id is not None:
        qs = qs.filter(tenant_id=filters.tenant_id)
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    selected = None
    if filters.property_id is not None or filters.bucket:
        q = bucket_q(filters.bucket, today) if filters.bucket else Q()
        selected = _sum_open(q, filters.property_id)
        qs = qs.annotate(selected=selected).filter(selected__gt=0)
    sort = filters.sort if filters.sort in SORTS else "name"
    if sort == "selected" and selected is None:
        sort = "balance"
    return qs.order_by(*SORTS[sort])


# --- one account ------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    entry: LedgerEntry
    open: Decimal
    paid: Decimal
    due_on: date
    state: str
    days_overdue: int

    @property
    def label(self) -> str:
        return PayState.LABELS[self.state]


def open_items(account: Account, today: date) -> list[OpenItem]:
    """The account's debits not yet paid in full, oldest due first."""
    rows = (open_debits().filter(account=account)
            .select_related("invoice", "payment").order_by("due", "seq"))
    out = []
    for e in rows:
        state, late = state_of(e.amount, e.amount - e.open, e.due, today)
        out.append(OpenItem(e, e.open, e.amount - e.open, e.due, state, late))
    return out


def account_totals(account: Account, today: date) -> dict[str, Decimal]:
    """Balance (the ledger's), what is open on debits, and what of it is overdue."""
    rows = list(open_debits().filter(account=account).values_list("open", "due"))
    items = {"open": sum((o for o, _ in rows), ZERO),
             "overdue": sum((o for o, d in rows if d < today), ZERO)}
    nxt = min((d for _, d in rows if d >= today), default=None)
    return {"balance": account.balance, "open": items["open"], "overdue": items["overdue"],
            "due": max(account.balance, ZERO), "next_due_on": nxt,
            "credit": -account.balance if account.balance < 0 else ZERO}


def account_entries(account: Account) -> QuerySet[LedgerEntry]:
    """Entries newest first, with what each links to."""
    return (LedgerEntry.objects.filter(account=account)
            .select_related("invoice", "credit_note", "credit_note__invoice", "payment")
            .order_by("-seq"))


@dataclass
class PaymentRow:
    payment: Payment
    entry: LedgerEntry | None
    reversed_on: date | None
    #: (debit entry, amount) it pays now, net of undone allocations
    allocations: list[tuple[LedgerEntry, Decimal]] = field(default_factory=list)
    unallocated: Decimal = ZERO


def account_payments(payments) -> list[PaymentRow]:
    """Each payment with what it pays (net allocations, in a fixed number of queries)."""
    payments = list(payments)
    entries = {e.payment_id: e for e in LedgerEntry.objects.filter(
        kind=EntryKind.PAYMENT, payment__in=payments)}
    reversals = dict(LedgerEntry.objects.filter(
        kind=EntryKind.PAYMENT_REVERSAL, reverses__in=entries.values())
        .values_list("reverses_id", "booked_on"))
    alloc = (Allocation.objects.filter(credit__in=entries.values())
             .values("credit_id", "debit_id").annotate(total=Sum("amount"))
             .filter(total__gt=0).order_by("debit_id"))
    alloc = list(alloc)
    debits = LedgerEntry.objects.select_related("invoice").in_bulk(
        [a["debit_id"] for a in alloc])
    by_credit: dict[int, list[tuple[LedgerEntry, Decimal]]] = {}
    for a in alloc:
        by_credit.setdefault(a["credit_id"], []).append((debits[a["debit_id"]], a["total"]))
    out = []
    for p in payments:
        entry = entries.get(p.pk)
        rows = [r for r in by_credit.get(entry.pk, []) if r[0].kind != EntryKind.PAYMENT_REVERSAL] \
            if entry else []
        reversed_on = reversals.get(entry.pk) if entry else None
        used = sum((a for _, a in rows), ZERO)
        out.append(PaymentRow(p, entry, reversed_on, rows,
                              ZERO if reversed_on else p.amount - used))
    return out


# --- statement of account -------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    entry: LedgerEntry
    debit: Decimal
    credit: Decimal
    balance: Decimal

    @property
    def running(self) -> Decimal:
        return self.balance


@dataclass
class AccountStatement:
    account: Account
    start: date
    end: date
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal
    #: Σ of every entry booked up to ``end``, summed by the database on its own
    ledger_closing: Decimal = ZERO

    @property
    def total_debit(self) -> Decimal:
        return sum((x.debit for x in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((x.credit for x in self.lines), ZERO)

    @property
    def debits(self) -> Decimal:
        return self.total_debit

    @property
    def credits(self) -> Decimal:
        """Negative, as the entries' amounts are: opening + debits + credits = closing."""
        return -self.total_credit

    @property
    def balanced(self) -> bool:
        """opening + Σ entries of the period = closing = what the ledger sums to."""
        return (self.opening + self.total_debit - self.total_credit == self.closing
                == self.ledger_closing)


def _sum_before(account: Account, day: date) -> Decimal:
    return (LedgerEntry.objects.filter(account=account, booked_on__lt=day)
            .aggregate(s=Sum("amount"))["s"] or ZERO)


def account_statement(account: Account, start: date, end: date) -> AccountStatement:
    """The entries booked in [start, end] (local dates) with a running balance.

    The opening balance is what the account owed at the start of ``start``: the
    ``balance_after`` of the last entry booked before it — computed as the sum of the
    entries booked before ``start``, which is the same number and stays right when a
    payment is booked back-dated (received on an earlier day than entries already in the
    chain). The period's entries are listed by booking day, then chain order."""
    opening = _sum_before(account, start)
    entries = list(LedgerEntry.objects.filter(account=account, booked_on__gte=start,
                                              booked_on__lte=end)
                   .select_related("invoice", "credit_note", "payment")
                   .order_by("booked_on", "seq"))
    running = opening
    lines = []
    for e in entries:
        running += e.amount
        lines.append(StatementLine(e, e.amount if e.amount > 0 else ZERO,
                                   -e.amount if e.amount < 0 else ZERO, running))
    return AccountStatement(account, start, end, opening, lines, running,
                            _sum_before(account, end + timedelta(days=1)))


__all__ = ["BUCKET_KEYS", "AccountFilters", "AccountStatement", "OpenItem", "PaymentRow",
           "account_entries", "account_list", "account_payments", "account_statement",
           "account_totals", "bucket_q", "open_debits", "open_items", "with_overdue"]
