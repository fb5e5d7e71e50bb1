"""What the invoicing engine produces: draft invoices with traced lines, not saved.

Value types only (no queries): :class:`DraftInvoice` and its :class:`DraftLine` s, the
:class:`UsageRef` tracing a usage line to the consumption and readings behind it, the
:class:`Diagnostic` s that say why something was not (or should be checked before it is)
billed, and a :class:`Preview` of a whole batch. ``billing.engine`` builds them;
the services save them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from billing.models import Subscription
from tariffs.pricing import vat

ZERO = Decimal("0")


@dataclass
class Diagnostic:
    code: str
    message: str
    severity: str = "error"  # error: nothing may be billed; warning: check it; info
    #: the meter (serial number) it is about, so the run report can link to its readings
    meter: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message, "severity": self.severity}
        if self.meter:
            out["meter"] = self.meter
        return out


@dataclass
class UsageRef:
    """A meter segment that was billed: the consumption and the two readings behind it."""

    key: int
    meter_id: int
    serial_number: str
    assignment_id: int
    meter_type: str
    unit: str
    start_at: datetime
    end_at: datetime
    quantity: Decimal
    start_read_at: datetime | None
    start_value: Decimal | None
    end_read_at: datetime | None
    end_value: Decimal | None
    estimated: bool
    #: how each boundary value was had (read / interpolated / estimated) and the readings
    #: it came from ([{"read_at", "value"}]); a note where end − start does not show the
    #: quantity by itself (register rollover)
    start_basis: str = ""
    end_basis: str = ""
    start_sources: list = field(default_factory=list)
    end_sources: list = field(default_factory=list)
    note: str = ""
    #: (end_value − start_value) × multiplier = quantity, as on the stored line
    multiplier: Decimal | None = None


@dataclass
class DraftLine:
    kind: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax_amount: Decimal
    meter_type: str = ""
    start_at: datetime | None = None
    end_at: datetime | None = None
    usage: UsageRef | None = None
    #: adjustment lines: the pending ``billing.Adjustment`` they bill (billing.adjustments)
    adjustment: object | None = None
    #: the charge (rule or add-on name) the line prices: how late data matches a line of
    #: an issued invoice with its re-rated counterpart (the description carries the days)
    charge: str = ""


@dataclass
class DraftInvoice:
    subscription: Subscription
    tenant: object | None
    start: datetime
    end: datetime
    currency: str
    lines: list[DraftLine] = field(default_factory=list)
    usages: list[UsageRef] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: the gross total to the organization's cash-rounding step (set by ``finish``)
    cash_rounding: Decimal = ZERO

    @property
    def billing_point(self):
        return self.subscription.billing_point

    @property
    def net_total(self) -> Decimal:
        return sum((x.amount for x in self.lines), ZERO)

    @property
    def vat_summary(self) -> list[vat.VatRate]:
        """Per VAT rate: base, rate, VAT on the base rounded once."""
        return vat.vat_summary(((x.tax_rate, x.amount) for x in self.lines),
                               currency=self.currency)

    @property
    def tax_total(self) -> Decimal:
        return vat.vat_total(self.vat_summary)

    @property
    def total(self) -> Decimal:
        return self.net_total + self.tax_total + self.cash_rounding

    @property
    def can_bill(self) -> bool:
        return (
            self.tenant is not None
            and bool(self.lines)
            and not any(d.severity == "error" for d in self.diagnostics)
        )


@dataclass
class Preview:
    start: date
    end: date
    invoices: list[DraftInvoice] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def can_bill(self) -> bool:
        return any(inv.can_bill for inv in self.invoices)


def finish_totals(inv: DraftInvoice, step: Decimal | None) -> None:
    """VAT per rate over the whole invoice (each line its largest-remainder share), then
    cash rounding of the gross total to ``step`` (None: none): an amount, not a line."""
    shares = vat.vat_per_line([(x.tax_rate, x.amount) for x in inv.lines], currency=inv.currency)
    for line, share in zip(inv.lines, shares, strict=True):
        line.tax_amount = share
    gross = inv.net_total + inv.tax_total
    inv.cash_rounding = vat.cash_round(gross, step, currency=inv.currency) if inv.lines else ZERO

