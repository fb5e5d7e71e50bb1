"""The pricing engine: charge rules × a period × quantities → priced lines. Pure Python.

No database, no Django models: callers (the quote endpoint, the portal's "try it" form,
billing) turn rows into the frozen dataclasses below and call :func:`price`. Everything is
``Decimal``; amounts are ``moneyed.Money``.

How a period is priced
----------------------
* **Days.** A period ``[start, end)`` is measured in the property's calendar days: the
  difference of the two *local wall-clock* times, so a DST day (23 or 25 hours) still counts
  as one day. ``start``/``end`` must be aware; they are converted to ``time_zone``.
* **Proration factor.** Quantities that are "per billing period" (tier limits, the included
  allowance, the minimum charge) are scaled by ``f = days(period) / days(billing period)``,
  where the billing period is the full cycle the period belongs to (``billing_period``;
  by default the period itself, i.e. ``f = 1``). Example: "first 100 kWh at 0.20" billed
  for 15 days of a 30-day month gives a first block of 50 kWh. Scaled limits are rounded
  to 3 decimals (ROUND_HALF_UP) so the lines show exact quantities.
* **Standing charges** per day are ``price × days``. Per month: each calendar month touched
  contributes ``days in period within that month / days in that month``; per year likewise
  with 365 or 366. The fraction is shown as the line quantity (unit "month"/"year").
* **Included allowance**: the first ``allowance × f`` units are free (a zero line shows
  them); the rule's prices apply to the units above it, and tiers count from the first
  chargeable unit.
* **Tiered (graduated)**: each block's units at the block's price, one line per block used.
  **Volume**: every unit at the price of the block the (chargeable) quantity reaches.
  A block's ``up_to`` is the cumulative upper limit; the last block has ``up_to=None``.
* **Time-of-use**: interval data (aware start, end, quantity) is cut at every band boundary
  in local wall-clock time (both sides of a repeated hour on a 25-hour day, nothing in the
  missing hour of a 23-hour day); each piece gets its share of the interval's quantity in
  proportion to elapsed real time, and the band of its midpoint. Day kinds: ``holiday`` if
  the local date is in the rule's holidays, else ``weekend`` on Saturday/Sunday, else
  ``weekday``. Without interval data the rule is *not* priced: a diagnostic says so.
* **Minimum charge** (``minimum × f``): if the rule's usage lines sum to less, a top-up
  line makes up the difference.
* **Rounding** happens once per line: ``amount = round(quantity × unit price)`` to the
  currency's minor unit with the rate list's rounding mode (ROUND_HALF_UP by default).
  Tax is per line (``round(amount × rate / 100)``) and summed per rate; totals are sums of
  rounded lines. Optional **cash rounding** (e.g. CHF 0.05) rounds the gross total and
  shows the difference as its own line.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision
from moneyed import Money

ZERO = Decimal("0")
ONE_DAY = Decimal(86400)
QTY_STEP = Decimal("0.001")

# Kinds of charge rules
STANDING = "standing"
FLAT = "flat"
TIERED = "tiered"
VOLUME = "volume"
TIME_OF_USE = "time_of_use"
KINDS = (STANDING, FLAT, TIERED, VOLUME, TIME_OF_USE)
USAGE_KINDS = (FLAT, TIERED, VOLUME, TIME_OF_USE)

PER_DAY, PER_MONTH, PER_YEAR = "day", "month", "year"
DAY_KINDS = ("weekday", "weekend", "holiday")


class PricingError(ValueError):
    """The engine was called with inconsistent input (a programming error, not a diagnostic)."""


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # cumulative upper limit per billing period; None = no limit
    price: Decimal


@dataclass(frozen=True)
class Band:
    name: str
    day_kinds: frozenset[str]
    start: time
    end: time  # exclusive; time(0) means midnight at the end of the day; end < start wraps
    price: Decimal

    def contains(self, day_kind: str, at: time) -> bool:
        if day_kind not in self.day_kinds:
            return False
        if self.start == self.end:
            return True
        if self.end == time(0) or self.start < self.end:
            return self.start <= at and (self.end == time(0) or at < self.end)
        return at >= self.start or at < self.end

    @property
    def label(self) -> str:
        days = "/".join(k for k in DAY_KINDS if k in self.day_kinds)
        return f"{self.name} ({days} {self.start:%H:%M}–{self.end:%H:%M})"


@dataclass(frozen=True)
class Rule:
    kind: str
    name: str
    unit: str = "kWh"
    meter_type: str = ""  # "" = a fixed charge, not tied to a meter type
    price: Decimal = ZERO  # unit price (flat) or the standing charge per ``per``
    per: str = PER_MONTH  # standing charges only
    tiers: tuple[Tier, ...] = ()
    bands: tuple[Band, ...] = ()
    holidays: frozenset[date] = frozenset()
    allowance: Decimal = ZERO
    minimum_charge: Decimal | None = None
    tax_rate: Decimal = ZERO  # percent


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime
    quantity: Decimal


@dataclass(frozen=True)
class Settings:
    currency: str
    rounding: str = ROUND_HALF_UP
    cash_rounding: Decimal | None = None  # e.g. Decimal("0.05")

    @property
    def minor_unit(self) -> Decimal:
        return Decimal(1).scaleb(-get_currency_precision(self.currency))

    def round(self, value: Decimal) -> Decimal:
        return value.quantize(self.minor_unit, rounding=self.rounding)


@dataclass(frozen=True)
class Usage:
    """What a meter type used in the period: a total, or interval data (or both)."""

    total: Decimal | None = None
    intervals: tuple[Interval, ...] | None = None


@dataclass(frozen=True)
class Line:
    rule: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Money
    tax_rate: Decimal
    tax: Money
    meter_type: str = ""

    @property
    def gross(self) -> Money:
        return self.amount + self.tax


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    rule: str = ""
    #: error: the rule could not be priced (nothing may be billed); warning: priced, but check;
    #: info: nothing to price for this rule (e.g. no consumption of its meter type given)
    severity: str = "error"


@dataclass(frozen=True)
class TaxSummary:
    rate: Decimal
    net: Money
    tax: Money


@dataclass
class Quote:
    currency: str
    lines: list[Line] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    cash_rounding: Money | None = None

    def _sum(self, values: Iterable[Money]) -> Money:
        return sum(values, Money(0, self.currency))

    @property
    def net(self) -> Money:
        return self._sum(line.amount for line in self.lines)

    @property
    def tax(self) -> Money:
        return self._sum(line.tax for line in self.lines)

    @property
    def gross(self) -> Money:
        return self.net + self.tax

    @property
    def total(self) -> Money:
        return self.gross + (self.cash_rounding or Money(0, self.currency))

    @property
    def taxes(self) -> list[TaxSummary]:
        by_rate: dict[Decimal, list[Line]] = defaultdict(list)
        for line in self.lines:
            by_rate[line.tax_rate.quantize(Decimal("0.01"))].append(line)
        return [
            TaxSummary(
                rate=rate,
                net=self._sum(x.amount for x in lines),
                tax=self._sum(x.tax for x in lines),
            )
            for rate, lines in sorted(by_rate.items())
        ]

    @property
    def can_bill(self) -> bool:
        return bool(self.lines) and not any(d.severity == "error" for d in self.diagnostics)


# --- periods -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise PricingError("Period start and end must be aware datetimes.")
        if self.end <= self.start:
            raise PricingError("A period must end after it starts.")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.tz)

    @property
    def days(self) -> Decimal:
        """Calendar days in the property's time zone (a 23- or 25-hour day counts as one)."""
        return wall_days(self.local(self.start), self.local(self.end))


def wall_days(start: datetime, end: datetime) -> Decimal:
    delta = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    return Decimal(delta.days) + Decimal(delta.seconds) / ONE_DAY + Decimal(
        delta.microseconds
    ) / (ONE_DAY * 1_000_000)


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
        amount: Decimal | None = None,
    ) -> Line:
        raw = quantity * unit_price if amount is None else amount
        net = self.settings.round(raw)
        tax = self.settings.round(net * rule.tax_rate / 100)
        return Line(
            rule=rule.name, description=description, quantity=quantity, unit=unit,
            unit_price=unit_price, amount=self.money(net), tax_rate=rule.tax_rate,
            tax=self.money(tax), meter_type=rule.meter_type,
        )

    def diagnose(self, code: str, message: str, rule: Rule, severity: str = "error") -> None:
        self.quote.diagnostics.append(Diagnostic(code, message, rule.name, severity))

    # standing charges
    def standing(self, rule: Rule) -> list[Line]:
        if rule.per == PER_DAY:
            days = self.period.days
            return [self.line(rule, f"{rule.name}: {_fmt(days)} days", days, "day", rule.price)]
        fraction = _calendar_fraction(self.period, rule.per)
        label = f"{rule.name}: {_fmt(self.period.days)} days, {_fmt(fraction, 4)} {rule.per}"
        return [
            self.line(rule, label, fraction, rule.per, rule.price, amount=fraction * rule.price)
        ]

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
            lines.append(self.line(rule, rule.name, chargeable, rule.unit, rule.price))
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
        free = min(total, _q(rule.allowance * self.factor))
        line = self.line(
            rule, f"{rule.name}: included allowance ({_fmt(_q(rule.allowance * self.factor))} "
            f"{rule.unit})", free, rule.unit, ZERO,
        )
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
            span = f"{_fmt(lower)}–{_fmt(upper)}" if upper is not None else f"over {_fmt(lower)}"
            lines.append(
                self.line(rule, f"{rule.name}: {span} {rule.unit}", units, rule.unit, tier.price)
            )
        return lines

    def volume(self, rule: Rule, quantity: Decimal) -> list[Line]:
        for lower, upper, tier in self.limits(rule):
            if upper is None or quantity <= upper:
                span = f"up to {_fmt(upper)}" if upper is not None else f"over {_fmt(lower)}"
                desc = f"{rule.name}: all units at the {span} {rule.unit} block price"
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
                lines.append(self.line(rule, f"{rule.name}: {band.label}", _q(qty), rule.unit,
                                       band.price))
        return lines

    def minimum(self, rule: Rule, lines: Sequence[Line]) -> list[Line]:
        if rule.minimum_charge is None:
            return []
        floor = self.settings.round(rule.minimum_charge * self.factor)
        charged = sum((x.amount.amount for x in lines), ZERO)
        if charged >= floor:
            return []
        desc = f"{rule.name}: minimum charge {_fmt(floor)} {self.settings.currency}"
        return [self.line(rule, desc, Decimal(1), "period", floor - charged)]

    def cash(self) -> None:
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
    pricer.cash()
    return pricer.quote


def combine(quotes: Sequence[Quote], settings: Settings) -> Quote:
    """One quote from several (e.g. one per rate-list version); cash rounding applies to the
    combined total only."""
    merged = Quote(currency=settings.currency)
    for quote in quotes:
        merged.lines.extend(quote.lines)
        merged.diagnostics.extend(quote.diagnostics)
    _cash_round(merged, settings)
    return merged


def _cash_round(quote: Quote, settings: Settings) -> None:
    step = settings.cash_rounding
    if not step:
        return
    gross = quote.gross.amount
    rounded = (gross / step).quantize(Decimal(1), rounding=settings.rounding) * step
    quote.cash_rounding = Money(settings.round(rounded - gross), settings.currency)


# --- helpers ----------------------------------------------------------------------------


def _total(usage: Usage | None) -> Decimal | None:
    if usage is None:
        return None
    if usage.total is not None:
        return usage.total
    if usage.intervals:
        return sum((i.quantity for i in usage.intervals), ZERO)
    return None


def _fmt(value: Decimal | None, places: int = 3) -> str:
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


def day_kind(day: date, holidays: frozenset[date]) -> str:
    if day in holidays:
        return "holiday"
    return "weekend" if day.weekday() >= 5 else "weekday"


def band_at(rule: Rule, local: datetime) -> Band | None:
    kind = day_kind(local.date(), rule.holidays)
    for band in rule.bands:
        if band.contains(kind, local.time()):
            return band
    return None


def _boundaries(rule: Rule, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """UTC instants in (start, end) where the local wall clock crosses a band edge or midnight.

    Both folds of a repeated wall-clock time are included; a time in the spring-forward gap
    maps to an instant that is harmless (the piece around it gets its band by its midpoint).
    """
    times = {time(0)} | {b.start for b in rule.bands} | {b.end for b in rule.bands}
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    out = set()
    day = first
    while day <= last:
        for t in times:
            for fold in (0, 1):
                instant = datetime.combine(day, t, tzinfo=tz).replace(fold=fold).astimezone(UTC)
                if start < instant < end:
                    out.add(instant)
        day += timedelta(days=1)
    return sorted(out)


def split_by_band(
    rule: Rule, intervals: Iterable[Interval], period: Period
) -> tuple[dict[str, Decimal], timedelta]:
    """Quantities per band name, and how much of the period the intervals cover."""
    tz = period.tz
    per_band: dict[str, Decimal] = defaultdict(lambda: ZERO)
    covered = timedelta(0)
    p_start, p_end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    for interval in intervals:
        start, end = interval.start.astimezone(UTC), interval.end.astimezone(UTC)
        if end <= start:
            raise PricingError("An interval must end after it starts.")
        length = Decimal((end - start) / timedelta(microseconds=1))
        clip_start, clip_end = max(start, p_start), min(end, p_end)
        if clip_end <= clip_start:
            continue
        covered += clip_end - clip_start
        edges = [clip_start, *_boundaries(rule, clip_start, clip_end, tz), clip_end]
        for a, b in zip(edges, edges[1:], strict=False):
            share = Decimal((b - a) / timedelta(microseconds=1)) / length
            band = band_at(rule, (a + (b - a) / 2).astimezone(tz))
            if band is None:
                raise PricingError(f"No band of {rule.name} covers {a.astimezone(tz)}.")
            per_band[band.name] += interval.quantity * share
    return dict(per_band), covered
