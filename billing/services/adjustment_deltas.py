"""The arithmetic of late data: what one tenant is (or should be) billed for each charge of
a period (:class:`Agg`, keyed by :func:`charge_key`), the differences between the two
(:func:`charge_deltas`) and how they read ("+42.5 kWh, −15 days of Standing charge")."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing import engine
from billing.models import LineKind

ZERO = Decimal("0")


@dataclass
class Agg:
    """What one tenant is (or should be) billed for one charge of a period."""

    quantity: Decimal = ZERO
    amount: Decimal = ZERO
    tax: Decimal = ZERO
    unit: str = ""
    unit_price: Decimal = ZERO
    days: Decimal = ZERO  # standing charges: the days they cover
    usage: engine.UsageRef | None = None
    assignment_id: int | None = None

    def add(self, quantity, amount, tax, unit, unit_price, days=ZERO) -> None:
        self.quantity += quantity
        self.amount += amount
        self.tax += tax
        self.unit = self.unit or unit
        self.unit_price = unit_price or self.unit_price
        self.days += days


# (kind, meter id, meter type, charge, VAT rate): a charge's lines of one period
Key = tuple[str, int | None, str, str, Decimal]


def charge_key(
    kind: str, meter_id, meter_type: str, description: str, rate, charge: str = ""
) -> Key:
    """A line's charge is its rule's name: ``charge`` where the line has it (drafted since
    descriptions carry the days: "Electricity, 1–30 Nov 2026: …"), else the words before
    the first colon of the description (the lines of before: "Electricity: 0–100 kWh")."""
    charge = charge or description.split(":", 1)[0].strip()
    return (str(kind), meter_id, meter_type or "", charge, Decimal(rate).quantize(Decimal("0.01")))


def standing_days(kind: str, a: datetime | None, b: datetime | None) -> Decimal:
    if kind != LineKind.STANDING or a is None or b is None:
        return ZERO
    return Decimal((b - a).total_seconds() / 86400).quantize(Decimal("0.01"))


def charge_deltas(
    proposed: dict[Key, Agg], billed: dict[Key, Agg]
) -> list[tuple[Key, Agg, Agg]]:
    """(key, proposed − billed, the proposed aggregate) for every charge that differs."""
    out = []
    for key in sorted(set(proposed) | set(billed), key=str):
        p, b = proposed.get(key, Agg()), billed.get(key, Agg())
        d = Agg(p.quantity - b.quantity, p.amount - b.amount, p.tax - b.tax, p.unit or b.unit,
                 p.unit_price or b.unit_price, p.days - b.days)
        if d.quantity or d.amount or d.tax:
            out.append((key, d, p if key in proposed else b))
    return out


def _num(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text if value < 0 else f"+{text}"


def delta_summary(deltas: list[tuple[Key, Agg, Agg]], currency: str) -> str:
    """"+42.5 kWh, −15 days of Standing charge": usage by unit, standing charges by days."""
    usage: dict[str, Decimal] = defaultdict(lambda: ZERO)
    parts = []
    for (kind, _m, _t, charge, _r), d, _agg in deltas:
        if kind == LineKind.USAGE:
            usage[d.unit] += d.quantity
        elif kind == LineKind.STANDING and d.days:
            parts.append(f"{_num(d.days)} days of {charge}")
        elif kind != LineKind.USAGE:
            parts.append(f"{_num(d.amount)} {currency} of {charge}")
    usage_text = [f"{_num(q)} {unit}" for unit, q in usage.items() if q]
    return ", ".join(usage_text + parts) or "amounts"
