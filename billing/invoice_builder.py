"""Pricing one invoice: the tariffs engine applied to the parts of a subscription's period.

:class:`InvoiceBuilder` takes one draft invoice of a subscription (one tenant) and, for each
part of the period it is cut into (``billing.engine``: occupancy, price changes, meter
replacement, consumption already billed), prices the fixed charges, the add-ons and each
meter segment's consumption with ``tariffs.pricing``, over the whole cycle as the billing
period (tier limits, allowances and minimum charges are prorated by days). Every line is
rounded once by the tariffs engine; the lines keep their trace (:class:`UsageRef`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from billing.drafts import Diagnostic, DraftInvoice, DraftLine, UsageRef, finish_totals
from billing.models import LineKind, Subscription
from billspree.core import timefmt
from readings import registers
from tariffs import pricing
from tariffs.models import RateListVersion

if TYPE_CHECKING:
    from billing.engine import BatchContext


def needs_interval_data(rules: Iterable[pricing.Rule]) -> bool:
    """Whether pricing ``rules`` needs interval data (readings at most ``INTERVAL_MAX``
    apart) rather than a total: time-of-use rules split consumption into bands by the hour.
    The one rule the bill run and the billing point's warnings
    (``billing.selectors.readiness``) both apply."""
    return any(r.kind == pricing.TIME_OF_USE for r in rules)


def plain_value(value: Decimal) -> str:
    """A register value as people read it: 50.5, not 50.5000 (nor 1E+4)."""
    return f"{value.normalize():f}"


def subscription_tz(subscription: Subscription) -> str:
    """The time zone of the subscription's property (periods and bands are local)."""
    return str(subscription.billing_point.property.time_zone)


class InvoiceBuilder:
    """Prices the parts of one draft invoice from what ``ctx`` loaded for the batch."""

    def __init__(self, ctx: BatchContext, sub: Subscription, inv: DraftInvoice):
        self.ctx, self.sub, self.inv = ctx, sub, inv
        self.tz = subscription_tz(sub)
        self.cycle = pricing.Period(
            timefmt.local_midnight(ctx.cycle[0], self.tz),
            timefmt.local_midnight(ctx.cycle[1], self.tz),
            self.tz,
        )
        self.rates = ctx.rates[sub.pk]

    def _period(self, a: datetime, b: datetime) -> pricing.Period:
        return pricing.Period(a, b, self.tz)

    def add_segment(self, start: datetime, end: datetime, vacancy: bool) -> None:
        for a, b in self.ctx.periods(self.sub):
            if start <= a and b <= end:
                self._price_part(a, b)

    def _types_in(self, a: datetime, b: datetime) -> set[str]:
        return {
            t for t, c, r in self.ctx.assignment_rows.get(self.sub.billing_point_id, [])
            if c < b and (r is None or r > a)
        }

    def _price_part(self, a: datetime, b: datetime) -> None:
        day = a.astimezone(ZoneInfo(self.tz)).date()
        types = self._types_in(a, b)
        self._fixed(a, b, day, types)
        for segment, result in self.ctx.segments.get(self.sub.billing_point_id, []):
            if segment.start >= a and segment.end <= b:
                self._usage(segment, result, day)

    def _settings(self, version: RateListVersion) -> pricing.Settings | None:
        settings = version.rate_list.pricing_settings()
        if settings.currency != self.inv.currency:
            self._diag("currency_mismatch", f"{version.rate_list.name} is in "
                       f"{settings.currency}, the property bills in {self.inv.currency}.")
            return None
        return settings

    def _diag(self, code: str, message: str, severity: str = "error", meter: str = "") -> None:
        if not any(d.code == code and d.message == message for d in self.inv.diagnostics):
            self.inv.diagnostics.append(Diagnostic(code, message, severity, meter))

    def _fixed(self, a: datetime, b: datetime, day: date, types: set[str]) -> None:
        versions: dict[int, RateListVersion] = {}
        for meter_type in (types or {""}):
            v = self.rates.version(meter_type, day)
            if v is not None:
                versions[v.pk] = v
        for v in self.ctx.tariffs.fee_versions(self.sub, day):
            versions[v.pk] = v
        for v in versions.values():  # each version once, even if it prices several types
            rules = [
                r for r in self.ctx.tariffs.rules_of(v)
                if r.kind == pricing.STANDING and r.meter_type in types | {""}
            ]
            settings = self._settings(v)
            if rules and settings:
                quote = pricing.price(rules=rules, period=self._period(a, b), settings=settings,
                                      billing_period=self.cycle)
                self._take(quote, LineKind.STANDING, a, b)
        self._add_ons(a, b)

    def _add_ons(self, a: datetime, b: datetime) -> None:
        settings = pricing.Settings(currency=self.inv.currency)
        meters = defaultdict(set)
        for segment, _ in self.ctx.segments.get(self.sub.billing_point_id, []):
            if segment.start < b and segment.end > a:
                meters[segment.meter.type].add(segment.meter.id)
        for add_on in self.ctx.tariffs.add_ons(self.sub):
            if str(add_on.currency) != self.inv.currency:
                self._diag("currency_mismatch", f"Add-on {add_on.name} is in {add_on.currency}, "
                           f"the property bills in {self.inv.currency}.")
                continue
            times = len(meters.get(add_on.meter_type, ())) if add_on.meter_type else 1
            for _ in range(times):
                quote = pricing.price(rules=[add_on.to_pricing()], period=self._period(a, b),
                                      settings=settings, billing_period=self.cycle)
                self._take(quote, LineKind.ADDON, a, b)

    def _usage(self, segment, result, day: date) -> None:
        meter = segment.meter
        label = f"{meter.serial_number} ({meter.type})"
        if self._already_billed(segment):
            return
        if result.quantity is None:
            self._diag("no_readings", f"{label}: no readings to measure or estimate the "
                       "consumption in "
                       f"{timefmt.format_period(segment.start, segment.end, self.tz)}.",
                       meter=meter.serial_number)
            return
        if result.quantity < 0:
            self._diag("negative_consumption", f"{label}: the readings give a negative "
                       f"consumption ({result.quantity}); check them.", meter=meter.serial_number)
            return
        version = self.rates.version(meter.type, day)
        rules = [
            r for r in (self.ctx.tariffs.rules_of(version) if version else [])
            if r.kind in pricing.USAGE_KINDS and r.meter_type == meter.type
        ]
        if not rules:
            self._diag("no_rate", f"No rate for {meter.type} on {timefmt.format_day(day)} "
                       f"in the plan "
                       f"{self.sub.plan}: {label} is not billed. Add a catch-all {meter.type} "
                       "rule (e.g. a flat price) to one of the plan's rate lists.",
                       meter=meter.serial_number)
            return
        settings = self._settings(version)
        if settings is None:
            return
        ref = self._ref(segment, result)
        if result.first is not None and result.first.flagged:
            self._diag("estimated_start", f"{label}: no reading near "
                       f"{timefmt.format_instant(segment.start, self.tz)}; the start value was "
                       f"{result.first.basis} (the line is flagged).", "warning",
                       meter.serial_number)
        if result.last is None or result.last.flagged:
            how = result.last.basis if result.last is not None else "estimated"
            self._diag("estimated_end", f"{label}: no reading near "
                       f"{timefmt.format_instant(segment.end, self.tz)}; "
                       f"the end value was {how} (the line is flagged).", "warning",
                       meter.serial_number)
        quote = pricing.price(
            rules=rules, period=self._period(segment.start, segment.end), settings=settings,
            billing_period=self.cycle, usage={meter.type: pricing.Usage(
                total=result.quantity,
                intervals=self.ctx.intervals(segment) if needs_interval_data(rules) else None,
            )},
        )
        self.inv.usages.append(ref)
        self._take(quote, LineKind.USAGE, segment.start, segment.end, ref)

    def _already_billed(self, segment) -> bool:
        for a, b, number in self.ctx.billed.get(segment.meter.id, []):
            if a < segment.end and b > segment.start:
                overlap = timefmt.format_period(max(a, segment.start), min(b, segment.end),
                                                self.tz)
                self._diag("already_billed", f"{segment.meter.serial_number}: the consumption "
                           f"of {overlap} is already billed on {number}; "
                           "it is left out.", "warning")
                return True
        return False

    def _ref(self, segment, result) -> UsageRef:
        """The line's trace: the boundary values the consumption actually used (interpolated
        at a move-in, not the reading of the 1st) with the readings they came from."""
        first, last = result.first, result.last
        meter = segment.meter
        note = ""
        if first is not None and last is not None and last.value < first.value:
            cap = registers.capacity(meter.register_digits)
            p = plain_value
            note = (f"The register rolled over at {p(cap)}: ({p(last.value)} + "
                    f"{p(cap)} − {p(first.value)}) × {p(meter.multiplier)} = "
                    f"{p(result.quantity)}")
        return UsageRef(
            key=id(segment), meter_id=meter.id, serial_number=meter.serial_number,
            assignment_id=segment.assignment.pk, meter_type=meter.type,
            unit=meter.unit, start_at=segment.start, end_at=segment.end,
            quantity=result.quantity,
            start_read_at=first.at if first else None,
            start_value=first.value if first else None,
            end_read_at=last.at if last else None,
            end_value=last.value if last else None,
            multiplier=meter.multiplier,
            estimated=result.flagged,
            start_basis=first.basis if first else "", end_basis=last.basis if last else "",
            start_sources=_sources(first), end_sources=_sources(last), note=note,
        )

    def _take(self, quote: pricing.Quote, kind: str, a: datetime, b: datetime,
              ref: UsageRef | None = None) -> None:
        for d in quote.diagnostics:
            if d.severity != "info":
                self._diag(d.code, d.message, d.severity, ref.serial_number if ref else "")
        for line in quote.lines:
            line_kind = LineKind.MINIMUM if line.kind == pricing.LINE_MINIMUM else kind
            self.inv.lines.append(DraftLine(
                kind=line_kind, description=line.description, quantity=line.quantity,
                unit=line.unit, unit_price=line.unit_price, amount=line.amount.amount,
                tax_rate=line.tax_rate, tax_amount=line.tax.amount, meter_type=line.meter_type,
                start_at=a, end_at=b, usage=ref, charge=line.rule,
            ))

    def finish(self) -> None:
        """VAT per rate over the whole invoice (each line its largest-remainder share), then
        cash rounding of the gross total to the organization's step for the currency (one
        source, whatever rate lists priced the lines): an amount, not a line."""
        finish_totals(self.inv, self.ctx.cash_steps.get(self.inv.currency))


def _sources(boundary) -> list[dict[str, str]]:
    if boundary is None:
        return []
    return [{"read_at": timefmt.api_instant(p.at), "value": f"{p.value:f}"}
            for p in boundary.sources]
