"""Values of the pricing engine: rules, periods, usage, lines, quotes (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision
from moneyed import Money

from tariffs.pricing.vat import vat_per_line, vat_summary

__all__ = [  # what ``tariffs.pricing`` exports from here
    "DAY_KINDS", "FLAT", "KINDS", "LINE_MINIMUM", "LINE_STANDING", "LINE_USAGE", "PER_DAY",
    "PER_MONTH", "PER_YEAR", "QTY_STEP", "STANDING",
    "TIERED", "TIME_OF_USE", "USAGE_KINDS", "VOLUME", "Band", "Diagnostic", "Interval", "Line",
    "Period", "PricingError", "Quote", "Rule", "Settings", "TaxSummary", "Tier", "Usage",
    "wall_days",
]

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

# Kinds of priced lines (``Line.kind``): what a line is, so callers never match its words
LINE_STANDING, LINE_USAGE, LINE_MINIMUM = "standing", "usage", "minimum"
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
    #: LINE_STANDING, LINE_USAGE (allowance, flat, tiered, volume, time of use) or
    #: LINE_MINIMUM (the top-up to a minimum charge)
    kind: str = LINE_USAGE

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
        """VAT per rate on the net for that rate, rounded once (see ``pricing.vat``)."""
        return self._sum(t.tax for t in self.taxes)

    @property
    def gross(self) -> Money:
        return self.net + self.tax

    @property
    def total(self) -> Money:
        return self.gross + (self.cash_rounding or Money(0, self.currency))

    @property
    def taxes(self) -> list[TaxSummary]:
        """One row per VAT rate: base (the net at that rate), VAT rounded once on the base."""
        rows = vat_summary(((x.tax_rate, x.amount.amount) for x in self.lines),
                           currency=self.currency)
        return [
            TaxSummary(rate=r.rate, net=Money(r.base, self.currency),
                       tax=Money(r.vat, self.currency))
            for r in rows
        ]

    def share_taxes(self) -> None:
        """Give each line its largest-remainder share of its rate's VAT, so the lines of a
        rate add up to that rate's row of :attr:`taxes` (lines are frozen: replaced)."""
        shares = vat_per_line([(x.tax_rate, x.amount.amount) for x in self.lines],
                              currency=self.currency)
        self.lines = [replace(x, tax=Money(share, self.currency))
                      for x, share in zip(self.lines, shares, strict=True)]

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
