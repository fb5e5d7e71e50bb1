"""The financial page's numbers: billed vs collected per month, outstanding and overdue by
property, top debtors and the organization's aging — per currency, never added across
currencies. Each is one or two set-based statements whatever the portfolio size.

Billed in a month = Σ invoice and reminder-fee debits booked that month (credit notes are
not subtracted: they are shown by the ledger, not as "less billed"); collected = Σ payments
booked that month (by the day the money arrived). Months are local calendar months.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from ledger.models import Account, EntryKind, LedgerEntry
from ledger.selectors.aging import AgingRow, aging
from meters.models import Property

ZERO = Decimal("0")
BILLED_KINDS = (EntryKind.INVOICE, EntryKind.FEE)


def last_months(today: date, n: int = 12) -> list[date]:
    """The 1st days of the ``n`` months up to ``today``'s, oldest first."""
    out, y, m = [], today.year, today.month
    for _ in range(n):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


@dataclass
class MonthMoney:
    currency: str
    months: list[date]
    billed: list[Decimal] = field(default_factory=list)
    collected: list[Decimal] = field(default_factory=list)

    @property
    def rows(self) -> list[tuple[date, Decimal, Decimal]]:
        return list(zip(self.months, self.billed, self.collected, strict=True))

    @property
    def total_billed(self) -> Decimal:
        return sum(self.billed, ZERO)

    @property
    def total_collected(self) -> Decimal:
        return sum(self.collected, ZERO)


def billed_vs_collected(today: date, months: int = 12) -> list[MonthMoney]:
    """Per currency (biggest billed first): billed and collected in each of the last
    ``months`` local months, zero where nothing happened."""
    firsts = last_months(today, months)
    rows = (LedgerEntry.objects
            .filter(booked_on__gte=firsts[0], booked_on__lte=today)
            .filter(Q(kind__in=BILLED_KINDS) | Q(kind=EntryKind.PAYMENT))
            .annotate(month=TruncMonth("booked_on"))
            .values("account__currency", "month")
            .annotate(billed=Sum("amount", filter=Q(kind__in=BILLED_KINDS)),
                      collected=Sum("amount", filter=Q(kind=EntryKind.PAYMENT)))
            .order_by())
    cells: dict[str, dict[date, tuple[Decimal, Decimal]]] = {}
    for r in rows:
        month = r["month"]
        month = month.date() if hasattr(month, "date") else month
        cells.setdefault(str(r["account__currency"]), {})[month] = (
            r["billed"] or ZERO, -(r["collected"] or ZERO))
    out = []
    for currency, by_month in cells.items():
        mm = MonthMoney(currency, firsts)
        for first in firsts:
            billed, collected = by_month.get(first, (ZERO, ZERO))
            mm.billed.append(billed)
            mm.collected.append(collected)
        out.append(mm)
    return sorted(out, key=lambda m: (-m.total_billed, m.currency))


@dataclass
class PropertyMoney:
    property: Property | None
    row: AgingRow


def by_property(today: date) -> list[PropertyMoney]:
    """Outstanding and overdue per property (and currency); debits with no property
    (fees, opening balances) in a row of their own."""
    rows = aging(today, by="property")
    props = Property.objects.in_bulk([r.key for r in rows if r.key is not None])
    return [PropertyMoney(props.get(r.key) if r.key is not None else None, r) for r in rows]


@dataclass
class Debtor:
    account: Account
    overdue: Decimal


def top_debtors(today: date, n: int = 10) -> list[Debtor]:
    """The ``n`` accounts that owe most (balance > 0, per account in its currency), with
    what of it is overdue."""
    accounts = list(Account.objects.filter(balance__gt=0).select_related("tenant")
                    .order_by("-balance", "tenant__name")[:n])
    late = {r.key: r.overdue for r in aging(today, by="account",
                                            account_ids=[a.pk for a in accounts])} \
        if accounts else {}
    return [Debtor(a, late.get(a.pk, ZERO)) for a in accounts]


def organization_aging(today: date) -> list[AgingRow]:
    return aging(today, by="organization")


def collected_between(start: date, end: date) -> dict[str, Decimal]:
    """Payments booked in [start, end], per currency."""
    rows = (LedgerEntry.objects.filter(kind=EntryKind.PAYMENT, booked_on__gte=start,
                                       booked_on__lte=end)
            .values("account__currency").annotate(s=Sum("amount")).order_by())
    return {str(r["account__currency"]): -r["s"] for r in rows}


def outstanding_by_currency() -> dict[str, Decimal]:
    """Σ of positive balances per currency (credits on some accounts do not hide what
    others owe)."""
    rows = (Account.objects.filter(balance__gt=0).values("currency")
            .annotate(s=Sum("balance")).order_by())
    return {str(r["currency"]): r["s"] for r in rows}
