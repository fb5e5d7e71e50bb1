"""Line descriptions as people write them on a bill.

The description is the words: what the charge is and for which days, e.g.
"Standing charge, 1–30 Nov 2026" or "Electricity, 1–30 Nov 2026: 6,008.2 kWh × 0.2450".
The exact numbers stay in the line's own fields (quantity, unit, unit price, amount); the
quantity and price in a description are rounded for reading only (3 decimals, at least 4
for a price), never used to compute anything.

The period is ``[start, end)`` shown as the inclusive local days through the one date
formatter (:func:`billspree.core.timefmt.format_period`): "1–30 Nov 2026" in a month,
"15 Oct – 14 Nov 2026" across months, "15 Dec 2026 – 14 Jan 2027" across years,
"29 Feb 2028" for a single day.
"""

from __future__ import annotations

from decimal import Decimal

from billspree.core import timefmt
from tariffs.pricing.values import Band, Period


def period_text(period: Period) -> str:
    """The inclusive local days of ``period`` ("1–30 Nov 2026")."""
    return timefmt.format_period(period.start, period.end, period.tz)


def number_text(value: Decimal | None, places: int = 3) -> str:
    """A quantity for reading: thousands grouped, at most ``places`` decimals, no trailing
    zeros ("6,008.2", "100", "0.082"); "∞" for no limit."""
    if value is None:
        return "∞"
    text = f"{round(Decimal(value), places):,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def price_text(value: Decimal) -> str:
    """A unit price for reading: 4 decimals ("0.2450"), more where the price has them (up to
    6: "0.123456"), none for a whole price ("300")."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    exponent = -value.normalize().as_tuple().exponent
    places = min(max(4, int(exponent)), 6)
    return f"{value:,.{places}f}"


def quantity_text(quantity: Decimal, unit: str) -> str:
    return f"{number_text(quantity)} {unit}".strip()


def head(name: str, period: Period, qualifier: str = "") -> str:
    """"Electricity, 1–30 Nov 2026" (", first 100 kWh" appended when qualified)."""
    text = f"{name}, {period_text(period)}"
    return f"{text}, {qualifier}" if qualifier else text


def standing(name: str, period: Period) -> str:
    """"Standing charge, 1–30 Nov 2026" (the fraction of a month or year is the quantity)."""
    return head(name, period)


def usage(name: str, period: Period, quantity: Decimal, unit: str, unit_price: Decimal,
          qualifier: str = "") -> str:
    """"Electricity, 1–30 Nov 2026: 6,008.2 kWh × 0.2450"."""
    return f"{head(name, period, qualifier)}: {quantity_text(quantity, unit)} × " \
           f"{price_text(unit_price)}"


def allowance(name: str, period: Period, free: Decimal, allowed: Decimal, unit: str) -> str:
    """"Water, 1–30 Nov 2026: 5 m³ included (allowance 10 m³)"."""
    return f"{head(name, period)}: {quantity_text(free, unit)} included " \
           f"(allowance {quantity_text(allowed, unit)})"


def _span(lower: Decimal, upper: Decimal | None, unit: str, *, above: str, first: str,
          between: str) -> str:
    """A block [lower, upper) in words: ``above`` when open-ended, ``first`` when it starts
    at zero, else ``between``; each a template of the bound(s) as "{}"."""
    if upper is None:
        return above.format(quantity_text(lower, unit))
    if not lower:
        return first.format(quantity_text(upper, unit))
    return between.format(f"{number_text(lower)}{timefmt.DASH}{quantity_text(upper, unit)}")


def tier_span(lower: Decimal, upper: Decimal | None, unit: str) -> str:
    """A block of a tiered rule: "first 100 kWh", "100–500 kWh", "above 500 kWh"."""
    return _span(lower, upper, unit, above="above {}", first="first {}", between="{}")


def volume_span(lower: Decimal, upper: Decimal | None, unit: str) -> str:
    """A volume rule's block: "all units at the 100–500 kWh price"."""
    return _span(lower, upper, unit, above="all units at the above-{} price",
                 first="all units at the up-to-{} price", between="all units at the {} price")


def band_text(band: Band) -> str:
    """A time-of-use band as its label: "Peak (weekday 07:00–20:00)"."""
    return band.label


def minimum(name: str, period: Period, floor: Decimal, currency: str) -> str:
    """"Electricity, 1–30 Nov 2026: top-up to the minimum charge of 50.00 EUR"."""
    return f"{head(name, period)}: top-up to the minimum charge of {floor:,f} {currency}"
