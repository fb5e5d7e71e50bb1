"""VAT per rate and cash rounding: the two roundings of a document's totals. Pure Python.

Why not per line: Swiss (MWSTG art. 26, ESTV MI 16) and EU (directive 2006/112/EC art. 226)
invoices state, per VAT rate, the taxable base and the VAT on it. VAT rounded per line and
summed drifts from that by up to half a minor unit per line: three 8.1 % lines of 10.05,
20.05 and 30.05 carry 0.81 + 1.62 + 2.43 = 4.86, but the invoice's 60.15 at 8.1 % is
4.872 → 4.87. So VAT is computed once per rate on the document's net for that rate and
rounded once (commercial rounding, ROUND_HALF_UP, whatever mode the lines use).

Lines still carry a VAT amount (the credit of chosen lines, exports per line): it is the
rate's VAT shared out over the rate's lines by largest remainder, so the lines of a rate
always add up to the VAT of that rate, to the minor unit.

Cash rounding (e.g. CHF 0.05) rounds the gross total to the *nearest* step (half away
from zero: 57.325 → 57.35), independent of the lines' rounding mode, and is its own
amount after the total: ``net + VAT + cash rounding = total``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision

ZERO = Decimal("0")
RATE_STEP = Decimal("0.01")


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-get_currency_precision(currency))


@dataclass(frozen=True)
class VatRate:
    """One row of a document's VAT summary: the base (net at this rate), rate %, VAT."""

    rate: Decimal
    base: Decimal
    vat: Decimal


def vat_summary(lines: Iterable[tuple[Decimal, Decimal]], *, currency: str) -> list[VatRate]:
    """``lines`` are ``(tax_rate_percent, net_amount)`` pairs; one row per rate, ascending."""
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for rate, net in lines:
        bases[Decimal(rate).quantize(RATE_STEP)] += Decimal(net)
    unit = minor_unit(currency)
    return [
        VatRate(rate=rate, base=base,
                vat=(base * rate / 100).quantize(unit, rounding=ROUND_HALF_UP))
        for rate, base in sorted(bases.items())
    ]


def vat_total(summary: Sequence[VatRate]) -> Decimal:
    return sum((row.vat for row in summary), ZERO)


def vat_per_line(lines: Sequence[tuple[Decimal, Decimal]], *, currency: str) -> list[Decimal]:
    """Each line's share of its rate's VAT (largest remainder), in the order given, so that
    the lines of a rate add up exactly to that rate's row of :func:`vat_summary`."""
    unit = minor_unit(currency)
    by_rate: dict[Decimal, list[int]] = defaultdict(list)
    for index, (rate, _net) in enumerate(lines):
        by_rate[Decimal(rate).quantize(RATE_STEP)].append(index)
    shares = [ZERO] * len(lines)
    for row in vat_summary(lines, currency=currency):
        members = by_rate[row.rate]
        exact = [Decimal(lines[i][1]) * row.rate / 100 for i in members]
        floors = [x.quantize(unit, rounding=ROUND_DOWN) for x in exact]
        left = int((row.vat - sum(floors, ZERO)) / unit)
        # hand the remaining minor units to the largest remainders (away from zero)
        step = unit if left >= 0 else -unit
        # ties go to the larger line, then the later one: deterministic, and the cent lands
        # where it is the smallest part of the line
        order = sorted(range(len(members)),
                       key=lambda k: (abs(exact[k] - floors[k]), abs(exact[k]), k), reverse=True)
        for k in order[: abs(left)]:
            floors[k] += step
        for i, share in zip(members, floors, strict=True):
            shares[i] = share
    return shares


def cash_round(gross: Decimal, step: Decimal | None, *, currency: str) -> Decimal:
    """The cash-rounding amount for ``gross``: the distance to the nearest ``step``."""
    if not step:
        return ZERO
    rounded = (gross / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
    return (rounded - gross).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)
