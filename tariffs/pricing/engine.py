"""The engine: prices rules for a period, one rounded line at a time (see the package
docstring for the arithmetic)."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from moneyed import Money

from tariffs.pricing import describe
from tariffs.pricing.tou import split_by_band
from tariffs.pricing.values import (
    FLAT,
    LINE_MINIMUM,
    LINE_STANDING,
    LINE_USAGE,
    PER_DAY,
    PER_MONTH,
    PER_YEAR,
    QTY_STEP,
    STANDING,
    TIERED,
    TIME_OF_USE,
    USAGE_KINDS,
    VOLUME,
    ZERO,
    Diagnostic,
    Line,
    Period,
    PricingError,
    Quote,
    Rule,
    Settings,
    Tier,
    Usage,
    wall_days,
)
from tariffs.pricing.vat import cash_round


def _q(value: Decimal) -> Decimal:
    return value.quantize(QTY_STEP, rounding=ROUND_HALF_UP)


# --- the engine -------------------------------------------------------------------------


class _Pricer:
    def __init__(self, settings: Settings, period: Period, billing_period: Period | None):
        self.settings = settings
        self.period = period
        full = billing_period or period
        self.factor = period.days / full.days
        self.quote = Quote(currency=settings.currency)

    def money(self, value: Decimal) -> Money:
        return Money(value, self.settings.currency)

    def line(
        self, rule: Rule, description: str, quantity: Decimal, unit: str, unit_price: Decimal,
        amount: Decimal | None = None, kind: str = LINE_USAGE,
    ) -> Line:
        raw = quantity * unit_price if amount is None else amount
        net = self.settings.round(raw)
        tax = self.settings.round(net * rule.tax_rate / 100)
        return Line(
            rule=rule.name, description=description, quantity=quantity, unit=unit,
            unit_price=unit_price, amount=self.money(net), tax_rate=rule.tax_rate,
            tax=self.money(tax), meter_type=rule.meter_type, kind=kind,
        )

    def diagnose(self, code: str, message: str, rule: Rule, severity: str = "error") -> None:
        self.quote.diagnostics.append(Diagnostic(code, message, rule.name, severity))

    # standing charges
    def standing(self, rule: Rule) -> list[Line]:
        label = describe.standing(rule.name, self.period)
        if rule.per == PER_DAY:
            days = self.period.days
            return [self.line(rule, label, days, "day", rule.price, kind=LINE_STANDING)]
        fraction = _calendar_fraction(self.period, rule.per)
        return [self.line(rule, label, fraction, rule.per, rule.price,
                          amount=fraction * rule.price, kind=LINE_STANDING)]

    # usage charges
    def usage(self, rule: Rule, usage: Usage | None) -> list[Line]:
        total = _total(usage)
        if total is None:
            self.diagnose(
                "no_consumption", f"{rule.name} was not priced: no {rule.meter_type or 'usage'} "
                "consumption was given.", rule, severity="info",
            )
            return []
        if rule.kind == TIME_OF_USE:
            return self.time_of_use(rule, usage)
        if total < 0:
            raise PricingError("Consumption cannot be negative.")
        lines, chargeable = self.allowance(rule, total)
        if rule.kind == FLAT:
            desc = describe.usage(rule.name, self.period, chargeable, rule.unit, rule.price)
            lines.append(self.line(rule, desc, chargeable, rule.unit, rule.price))
        elif rule.kind == TIERED:
            lines += self.tiered(rule, chargeable)
        elif rule.kind == VOLUME:
            lines += self.volume(rule, chargeable)
        else:
            raise PricingError(f"Unknown rule kind {rule.kind!r}")
        return lines

    def allowance(self, rule: Rule, total: Decimal) -> tuple[list[Line], Decimal]:
        if rule.allowance <= 0:
            return [], total
        allowed = _q(rule.allowance * self.factor)
        free = min(total, allowed)
        desc = describe.allowance(rule.name, self.period, free, allowed, rule.unit)
        line = self.line(rule, desc, free, rule.unit, ZERO)
        return [line], total - free

    def limits(self, rule: Rule) -> list[tuple[Decimal, Decimal | None, Tier]]:
        out, lower = [], ZERO
        for tier in rule.tiers:
            upper = None if tier.up_to is None else _q(tier.up_to * self.factor)
            out.append((lower, upper, tier))
            lower = upper if upper is not None else lower
        return out

    def tiered(self, rule: Rule, quantity: Decimal) -> list[Line]:
        lines = []
        for lower, upper, tier in self.limits(rule):
            top = quantity if upper is None else min(quantity, upper)
            units = top - lower
            if units <= 0:
                break
            desc = describe.usage(rule.name, self.period, units, rule.unit, tier.price,
                                  describe.tier_span(lower, upper, rule.unit))
            lines.append(self.line(rule, desc, units, rule.unit, tier.price))
        return lines

    def volume(self, rule: Rule, quantity: Decimal) -> list[Line]:
        for lower, upper, tier in self.limits(rule):
            if upper is None or quantity <= upper:
                desc = describe.usage(rule.name, self.period, quantity, rule.unit, tier.price,
                                      describe.volume_span(lower, upper, rule.unit))
                return [self.line(rule, desc, quantity, rule.unit, tier.price)]
        raise PricingError("A volume rule needs an open-ended last block.")

    def time_of_use(self, rule: Rule, usage: Usage | None) -> list[Line]:
        if usage is None or not usage.intervals:
            self.diagnose(
                "tou_no_interval_data",
                f"{rule.name} is priced by time of use, but there is no interval data for "
                "the period; a total alone cannot be split into bands, so it was not priced.",
                rule,
            )
            return []
        per_band, covered = split_by_band(rule, usage.intervals, self.period)
        expected = self.period.end.astimezone(UTC) - self.period.start.astimezone(UTC)
        if covered < expected:
            hours = (expected - covered).total_seconds() / 3600
            self.diagnose(
                "tou_incomplete_interval_data",
                f"Interval data for {rule.name} is missing for {hours:g} hours of the period; "
                "only the covered intervals were priced.",
                rule, severity="warning",
            )
        lines = []
        for band in rule.bands:
            qty = per_band.get(band.name)
            if qty:
                desc = describe.usage(rule.name, self.period, _q(qty), rule.unit, band.price,
                                      describe.band_text(band))
                lines.append(self.line(rule, desc, _q(qty), rule.unit, band.price))
        return lines

    def minimum(self, rule: Rule, lines: Sequence[Line]) -> list[Line]:
        if rule.minimum_charge is None:
            return []
        floor = self.settings.round(rule.minimum_charge * self.factor)
        charged = sum((x.amount.amount for x in lines), ZERO)
        if charged >= floor:
            return []
        desc = describe.minimum(rule.name, self.period, floor, self.settings.currency)
        return [self.line(rule, desc, Decimal(1), "period", floor - charged, kind=LINE_MINIMUM)]

    def finish(self) -> None:
        self.quote.share_taxes()
        _cash_round(self.quote, self.settings)


def price(
    *,
    rules: Sequence[Rule],
    period: Period,
    usage: dict[str, Usage] | None = None,
    settings: Settings,
    billing_period: Period | None = None,
) -> Quote:
    """Price ``rules`` for ``period``. ``usage`` maps a meter type to its :class:`Usage`.

    ``billing_period`` is the full cycle ``period`` belongs to (tier limits, allowance and
    minimum charge are per billing period, prorated by days). Returns a :class:`Quote`
    whose lines are each rounded once and whose totals are sums of those lines.
    """
    if billing_period is not None and billing_period.days <= 0:
        raise PricingError("The billing period must be at least a moment long.")
    pricer = _Pricer(settings, period, billing_period)
    usage = usage or {}
    for rule in rules:
        if rule.kind == STANDING:
            lines = pricer.standing(rule)
        elif rule.kind in USAGE_KINDS:
            lines = pricer.usage(rule, usage.get(rule.meter_type))
            if lines or rule.kind != TIME_OF_USE:
                lines += pricer.minimum(rule, lines)
        else:
            raise PricingError(f"Unknown rule kind {rule.kind!r}")
        pricer.quote.lines.extend(lines)
    pricer.finish()
    return pricer.quote


def combine(quotes: Sequence[Quote], settings: Settings) -> Quote:
    """One quote from several (e.g. one per rate-list version); cash rounding applies to the
    combined total only."""
    merged = Quote(currency=settings.currency)
    for quote in quotes:
        merged.lines.extend(quote.lines)
        merged.diagnostics.extend(quote.diagnostics)
    merged.share_taxes()
    _cash_round(merged, settings)
    return merged


def _cash_round(quote: Quote, settings: Settings) -> None:
    """To the *nearest* step (``pricing.vat.cash_round``), not with the lines' mode: a
    ROUND_DOWN rate list must not turn 57.33 into 57.30."""
    if not settings.cash_rounding:
        return
    amount = cash_round(quote.gross.amount, settings.cash_rounding, currency=settings.currency)
    quote.cash_rounding = Money(amount, settings.currency)


# --- helpers ----------------------------------------------------------------------------


def _total(usage: Usage | None) -> Decimal | None:
    if usage is None:
        return None
    if usage.total is not None:
        return usage.total
    if usage.intervals:
        return sum((i.quantity for i in usage.intervals), ZERO)
    return None


def fmt_number(value: Decimal | None, places: int = 3) -> str:
    if value is None:
        return "∞"
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"



def _calendar_fraction(period: Period, per: str) -> Decimal:
    """Sum over calendar months (or years) of days-in-period / days-in-that-month."""
    start, end = period.local(period.start), period.local(period.end)
    total = ZERO
    cursor = start
    while cursor < end:
        if per == PER_MONTH:
            length = calendar.monthrange(cursor.year, cursor.month)[1]
            y, m = divmod(cursor.month, 12)
            boundary = datetime(cursor.year + y, m + 1, 1, tzinfo=period.tz)
        elif per == PER_YEAR:
            length = 366 if calendar.isleap(cursor.year) else 365
            boundary = datetime(cursor.year + 1, 1, 1, tzinfo=period.tz)
        else:
            raise PricingError(f"Unknown standing charge period {per!r}")
        stop = min(end, boundary)
        total += wall_days(cursor, stop) / length
        cursor = stop
    return total
