"""The invoicing engine: subscriptions × a period → draft invoices with traced lines.

Nothing here writes. For each subscription and period ``[start, end)`` (local dates of the
property, end exclusive) the period is cut

* by occupancy (``tenants.selectors.occupants_for_billing_points``: tenant segments,
  vacancy to the owner) — one invoice per tenant;
* by rate-list version (a price change inside the period): each version prices its days;
* by meter assignment (a replacement inside the period): each meter's segment is priced on
  its own, from its own two readings.

Quantities come from the readings selectors (interpolated at the boundaries, across
rollover and replacement, × multiplier, estimated parts flagged). Prices come from the pure
tariffs engine with the whole cycle as ``billing_period`` (tier limits, allowances and
minimum charges are prorated by days). Every line is rounded once by the tariffs engine;
invoice totals are sums of the rounded lines.

Set-based: occupancy, assignments, consumption, boundary readings and "already billed" are
each one query for all subscriptions (consumption per group of billing points sharing the
same cuts); rate lists are resolved once per billing point and meter type.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q

from billing import adjustments
from billing.models import BilledPeriod, Invoice, LineKind, Subscription
from billspree.core import timefmt
from meters.models import MeterAssignment
from readings import selectors as readings_selectors
from readings.models import Reading
from tariffs import pricing
from tariffs import selectors as tariff_selectors
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    ChargeRule,
    Holiday,
    Plan,
    PlanVariant,
    RateList,
    RateListVersion,
)
from tariffs.pricing import vat
from tenants.selectors import occupants_for_billing_points

ZERO = Decimal("0")
#: Readings further apart than this are not interval data for time-of-use pricing.
INTERVAL_MAX = timedelta(hours=1)


def needs_interval_data(rules: Iterable[pricing.Rule]) -> bool:
    """Whether pricing ``rules`` needs interval data (readings at most ``INTERVAL_MAX``
    apart) rather than a total: time-of-use rules split consumption into bands by the hour.
    The one rule the bill run and the billing point's warnings
    (``billing.selectors.readiness``) both apply."""
    return any(r.kind == pricing.TIME_OF_USE for r in rules)


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


def _plain(value: Decimal) -> str:
    """A register value as people read it: 50.5, not 50.5000 (nor 1E+4)."""
    return f"{value.normalize():f}"


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


# --- periods ------------------------------------------------------------------------------


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def _tz(subscription: Subscription) -> str:
    return str(subscription.billing_point.property.time_zone)


def _days(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """``[start, end)`` as the inclusive local days of a message: "1–30 Sep 2026"."""
    return timefmt.format_period(start, end, tz)


def _clip(sub: Subscription, start: date, end: date) -> tuple[date, date] | None:
    lo = max(start, sub.start_date)
    hi = min(end, sub.end_date) if sub.end_date else end
    return (lo, hi) if lo < hi else None


# --- rate lists -----------------------------------------------------------------------------


@dataclass
class _Rates:
    """The rate list and its versions for each meter type ("" = fixed charges) of one
    billing point over the period."""

    lists: dict[str, RateList | None]
    versions: dict[str, list[RateListVersion]]

    def version(self, meter_type: str, day: date) -> RateListVersion | None:
        for v in self.versions.get(meter_type, []):
            if v.effective_from <= day and (v.effective_to is None or day < v.effective_to):
                return v
        return None

    def cuts(self) -> set[date]:
        return {v.effective_from for vs in self.versions.values() for v in vs}


class _Tariffs:
    """Rate lists, versions, rules and add-ons of a batch, loaded in a fixed number of
    queries; :meth:`version_for` follows ``tariffs.selectors.rate_list_for``: the billing
    point's own list for the meter type, its catch-all list, then the variant's (or plan's)
    lists — the first whose version in effect that day has a rule for the meter type."""

    def __init__(self, subs: list[Subscription], lo: date, hi: date):
        self.overrides: dict[int, dict[str, RateList]] = defaultdict(dict)
        for o in BillingPointRateList.objects.filter(
            billing_point_id__in={s.billing_point_id for s in subs}
        ).select_related("rate_list"):
            self.overrides[o.billing_point_id][o.meter_type] = o.rate_list
        plans = {p.pk: p for p in Plan.objects.filter(pk__in={s.plan_id for s in subs})
                 .prefetch_related("rate_lists", "add_ons")}
        variants = {v.pk: v for v in PlanVariant.objects.filter(
            pk__in={s.variant_id for s in subs if s.variant_id}
        ).prefetch_related("rate_lists", "add_ons")}
        self.plan_lists: dict[int, list[RateList]] = {}
        self.add_ons: dict[int, list[AddOn]] = {}
        for s in subs:
            plan, variant = plans[s.plan_id], variants.get(s.variant_id)
            own = list(variant.rate_lists.all()) if variant is not None else []
            self.plan_lists[s.pk] = own or list(plan.rate_lists.all())
            found = {a.pk: a for a in plan.add_ons.all() if a.active}
            if variant is not None:
                found.update({a.pk: a for a in variant.add_ons.all() if a.active})
            self.add_ons[s.pk] = list(found.values())
        list_ids = {rl.pk for lists in self.plan_lists.values() for rl in lists}
        list_ids |= {rl.pk for by in self.overrides.values() for rl in by.values()}
        self.versions: dict[int, list[RateListVersion]] = defaultdict(list)
        rules: dict[int, list[ChargeRule]] = defaultdict(list)
        versions = RateListVersion.objects.filter(
            rate_list_id__in=list_ids, effective_from__lt=hi
        ).filter(Q(effective_to__isnull=True) | Q(effective_to__gt=lo)).select_related(
            "rate_list"
        ).order_by("effective_from")
        for v in versions:
            self.versions[v.rate_list_id].append(v)
        for r in ChargeRule.objects.filter(
            version_id__in=[v.pk for vs in self.versions.values() for v in vs]
        ).order_by("position", "pk"):
            rules[r.version_id].append(r)
        calendars = {r.holiday_calendar_id for rs in rules.values() for r in rs
                     if r.holiday_calendar_id}
        holidays: dict[int, set[date]] = defaultdict(set)
        for cal, day in Holiday.objects.filter(calendar_id__in=calendars).values_list(
            "calendar_id", "date"
        ):
            holidays[cal].add(day)
        self.rules: dict[int, list[pricing.Rule]] = {
            vid: [r.to_pricing(frozenset(holidays.get(r.holiday_calendar_id, ()))) for r in rs]
            for vid, rs in rules.items()
        }
        self.types: dict[int, set[str]] = {
            vid: {r.meter_type for r in rs} for vid, rs in rules.items()
        }

    def rules_of(self, version: RateListVersion) -> list[pricing.Rule]:
        return self.rules.get(version.pk, [])

    def _version_at(self, rate_list: RateList, day: date) -> RateListVersion | None:
        for v in self.versions.get(rate_list.pk, []):
            if v.effective_from <= day and (v.effective_to is None or day < v.effective_to):
                return v
        return None

    def version_for(self, sub: Subscription, meter_type: str, day: date):
        own = self.overrides.get(sub.billing_point_id, {})
        candidates = [own[k] for k in (meter_type, "") if k in own] + self.plan_lists[sub.pk]
        for rate_list in candidates:
            v = self._version_at(rate_list, day)
            if v is not None and (not meter_type or meter_type in self.types.get(v.pk, ())):
                return v
        return None

    def fee_versions(self, sub: Subscription, day: date) -> list[RateListVersion]:
        """Versions of the subscription's rate lists that hold fixed charges only (e.g. a
        "service fees" list): charged whatever meters the billing point has."""
        own = self.overrides.get(sub.billing_point_id, {})
        out = []
        for rate_list in [*own.values(), *self.plan_lists[sub.pk]]:
            v = self._version_at(rate_list, day)
            if v is not None and self._fees_only(v):
                out.append(v)
        return out

    def _fees_only(self, version: RateListVersion) -> bool:
        rules = self.rules.get(version.pk)
        return bool(rules) and all(r.kind == pricing.STANDING for r in rules)

    def rates_for(self, sub: Subscription, types: set[str], start: date, end: date) -> _Rates:
        lists: dict[str, RateList | None] = {}
        versions: dict[str, list[RateListVersion]] = {}
        for meter_type in sorted(types | {""}):
            found = self.version_for(sub, meter_type, start) or self.version_for(
                sub, meter_type, end - timedelta(days=1)
            )
            lists[meter_type] = found.rate_list if found else None
            versions[meter_type] = [
                v for v in self.versions.get(found.rate_list_id, [])
                if v.effective_from < end and (v.effective_to is None or v.effective_to > start)
            ] if found else []
        own = self.overrides.get(sub.billing_point_id, {})
        for rate_list in [*own.values(), *self.plan_lists[sub.pk]]:  # price changes of fees
            inside = [
                v for v in self.versions.get(rate_list.pk, [])
                if v.effective_from < end and (v.effective_to is None or v.effective_to > start)
            ]
            if any(self._fees_only(v) for v in inside):
                versions.setdefault(f"fees:{rate_list.pk}", inside)
        return _Rates(lists, versions)


# --- the computation ------------------------------------------------------------------------


def compute(
    *, subscriptions: Iterable[Subscription], start: date, end: date,
    rerate_of: frozenset[int] | None = None, replacing: frozenset[int] = frozenset(),
) -> Preview:
    """Draft invoices (not saved) of ``subscriptions`` for ``[start, end)`` (local dates).

    ``rerate_of``: invoices whose period is priced again from current data as if they did
    not exist (late data, ``billing.services.adjustments``): their billed periods and
    every adjustment period are not "already billed", and no pending adjustment is added.
    ``replacing``: drafts being recomputed in place (not "already invoiced").
    """
    preview = Preview(start=start, end=end)
    subs = list(subscriptions)
    clipped: dict[int, tuple[date, date]] = {}
    for sub in subs:
        window = _clip(sub, start, end)
        if window is None:
            preview.diagnostics.append(Diagnostic(
                "not_subscribed", f"{sub.billing_point} has no subscription in effect in "
                f"{timefmt.format_period(start, end)}.",
            ))
        else:
            clipped[sub.pk] = window
    subs = [s for s in subs if s.pk in clipped]
    if not subs:
        return preview
    ctx = _Context(subs, clipped, start, end, rerate_of, replacing)
    for sub in subs:
        preview.invoices.extend(ctx.invoices_for(sub))
    return preview


class _Context:
    """Everything loaded once for a batch of subscriptions."""

    def __init__(self, subs: list[Subscription], clipped: dict[int, tuple[date, date]],
                 start: date, end: date, rerate_of: frozenset[int] | None = None,
                 replacing: frozenset[int] = frozenset()):
        self.subs = subs
        self.rerate_of = rerate_of
        self.replacing = replacing
        self.cycle = (start, end)
        self.window = {
            s.pk: (local_midnight(a, _tz(s)), local_midnight(b, _tz(s)), a, b)
            for s, (a, b) in ((s, clipped[s.pk]) for s in subs)
        }
        self.tariffs = _Tariffs(subs, min(w[2] for w in self.window.values()),
                                max(w[3] for w in self.window.values()))
        self._load_occupants()
        self._load_assignments()
        self.rates = {
            s.pk: self.tariffs.rates_for(s, self.types[s.billing_point_id],
                                         *self.window[s.pk][2:])
            for s in subs
        }
        self._load_billed()
        self._load_consumption()
        #: cash rounding per currency: the organization's setting, one source for all
        self.cash_steps = tariff_selectors.cash_rounding_steps()
        self.pending = {} if rerate_of is not None else adjustments.load_pending(self)

    # loading
    def _load_occupants(self) -> None:
        by_window: dict[tuple[datetime, datetime], list[int]] = defaultdict(list)
        for s in self.subs:
            by_window[self.window[s.pk][:2]].append(s.billing_point_id)
        self.occupants: dict[int, list] = {}
        for (lo, hi), bp_ids in by_window.items():
            self.occupants.update(occupants_for_billing_points(bp_ids, lo, hi))

    def _load_assignments(self) -> None:
        lo = min(w[0] for w in self.window.values())
        hi = max(w[1] for w in self.window.values())
        rows = (
            MeterAssignment.objects.filter(
                billing_point_id__in=[s.billing_point_id for s in self.subs], connected_at__lt=hi
            )
            .filter(Q(removed_at__isnull=True) | Q(removed_at__gt=lo))
            .values_list("billing_point_id", "meter__type", "connected_at", "removed_at",
                         "meter_id")
        )
        self.types: dict[int, set[str]] = defaultdict(set)
        self.meters_of: dict[int, set[int]] = defaultdict(set)
        self.assignment_rows: dict[int, list[tuple]] = defaultdict(list)
        for bp, meter_type, connected, removed, meter_id in rows:
            self.types[bp].add(meter_type)
            self.meters_of[bp].add(meter_id)
            self.assignment_rows[bp].append((meter_type, connected, removed))

    def periods(self, sub: Subscription) -> list[tuple[datetime, datetime]]:
        lo, hi, _, _ = self.window[sub.pk]
        tz = _tz(sub)
        cuts = {lo, hi}
        cuts |= {seg.start for seg in self.occupants.get(sub.billing_point_id, [])}
        cuts |= {local_midnight(d, tz) for d in self.rates[sub.pk].cuts()}
        # cut where consumption already billed starts or ends, so only that part is left out
        cuts |= {t for m in self.meters_of.get(sub.billing_point_id, ())
                 for a, b, _ in self.billed.get(m, ()) for t in (a, b)}
        points = sorted(c for c in cuts if lo <= c <= hi)
        return list(zip(points, points[1:], strict=False))

    def _load_consumption(self) -> None:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for s in self.subs:
            groups[tuple(self.periods(s))].append(s.billing_point_id)
        self.segments: dict[int, list] = defaultdict(list)
        # (assignment, instant) → the readings around it, filled by the same lookup that
        # measured the consumption (the lines' start/end readings come from it)
        self.boundaries: dict[tuple[int, datetime], readings_selectors.Boundary] = {}
        for periods, bp_ids in groups.items():
            found = readings_selectors.segment_consumption(
                MeterAssignment.objects.filter(billing_point_id__in=bp_ids),
                periods[0][0], periods[-1][1], list(periods), boundaries=self.boundaries,
            )
            for segment, result in found:
                self.segments[segment.assignment.billing_point_id].append((segment, result))

    def _load_billed(self) -> None:
        meter_ids = {m for ids in self.meters_of.values() for m in ids}
        lo = min(w[0] for w in self.window.values())
        hi = max(w[1] for w in self.window.values())
        self.billed: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)
        rows = BilledPeriod.objects.filter(
            meter_id__in=meter_ids, active=True, start_at__lt=hi, end_at__gt=lo
        )
        existing = Invoice.objects.exclude(status="void").exclude(pk__in=self.replacing)
        if self.rerate_of is not None:
            rows = rows.filter(adjustment__isnull=True).exclude(invoice_id__in=self.rerate_of)
            existing = existing.exclude(pk__in=self.rerate_of)
        rows = rows.values_list("meter_id", "start_at", "end_at", "invoice__number",
                                "invoice__public_id")
        for meter_id, a, b, number, public_id in rows:
            self.billed[meter_id].append((a, b, number or f"draft {str(public_id)[:8]}"))
        existing = existing.filter(
            billing_point_id__in={s.billing_point_id for s in self.subs},
            period_start__lt=hi, period_end__gt=lo,
        ).values_list("billing_point_id", "tenant_id", "period_start", "period_end", "number",
                      "public_id")
        self.invoiced: dict[tuple[int, int], list[tuple]] = defaultdict(list)
        for bp, tenant, a, b, number, pid in existing:
            self.invoiced[(bp, tenant)].append((a, b, number or f"draft {str(pid)[:8]}"))

    def invoiced_for(
        self, bp: int, tenant: int, lo: datetime, hi: datetime
    ) -> tuple[datetime, datetime, str] | None:
        """The tenant's non-void invoice (start, end, number) overlapping ``[lo, hi)``."""
        for a, b, number in self.invoiced.get((bp, tenant), []):
            if a < hi and b > lo:
                return a, b, number
        return None

    def intervals(self, segment) -> tuple[pricing.Interval, ...]:
        """Interval data of a meter segment for time-of-use rules: consecutive readings at
        most ``INTERVAL_MAX`` apart (daily readings are not interval data; gaps stay
        uncovered and the tariffs engine says how many hours are missing)."""
        rows = list(
            Reading.objects.filter(
                meter_id=segment.meter.id, read_at__gte=segment.start, read_at__lte=segment.end
            ).order_by("read_at").values_list("read_at", "total")
        )
        factor = segment.meter.multiplier
        return tuple(
            pricing.Interval(a, b, (tb - ta) * factor)
            for (a, ta), (b, tb) in zip(rows, rows[1:], strict=False)
            if b - a <= INTERVAL_MAX and ta is not None and tb is not None
        )

    # building invoices
    def invoices_for(self, sub: Subscription) -> list[DraftInvoice]:
        lo, hi, _, _ = self.window[sub.pk]
        currency = str(sub.billing_point.property.currency)
        by_tenant: dict[int | None, DraftInvoice] = {}
        segments = self.occupants.get(sub.billing_point_id, [])
        for occ in segments:
            key = occ.tenant.pk if occ.tenant else None
            if key not in by_tenant:
                by_tenant[key] = DraftInvoice(sub, occ.tenant, lo, hi, currency)
                self._check_tenant(by_tenant[key], sub)
            _Builder(self, sub, by_tenant[key]).add_segment(occ.start, occ.end, occ.is_vacancy)
        invoices = list(by_tenant.values())
        for inv in invoices:
            adjustments.add_pending_lines(self, inv)
            _Builder(self, sub, inv).finish()
        if not self.types.get(sub.billing_point_id):
            for inv in invoices:
                inv.diagnostics.append(Diagnostic(
                    "no_active_meter", f"{sub.billing_point} has no active meter in the period: "
                    "only fixed charges can be billed.", "warning",
                ))
        return invoices

    def _check_tenant(self, inv: DraftInvoice, sub: Subscription) -> None:
        if inv.tenant is None:
            inv.diagnostics.append(Diagnostic(
                "no_owner", f"{sub.billing_point} is vacant for part of the period and has no "
                "owner recorded to bill: record the property's owner.",
            ))
            return
        if not inv.tenant.email:
            inv.diagnostics.append(Diagnostic(
                "tenant_without_email", f"{inv.tenant} has no email address: the invoice "
                "cannot be sent by email.", "warning",
            ))
        found = self.invoiced_for(sub.billing_point_id, inv.tenant.pk, inv.start, inv.end)
        if found:
            a, b, number = found
            tz = ZoneInfo(_tz(sub))
            inv.diagnostics.append(Diagnostic(
                "already_invoiced", f"{inv.tenant} is already invoiced on {number} for "
                f"{_days(a, b, tz)}, which overlaps {_days(inv.start, inv.end, tz)}; void it "
                "(or credit it) to bill the period again.",
            ))


class _Builder:
    def __init__(self, ctx: _Context, sub: Subscription, inv: DraftInvoice):
        self.ctx, self.sub, self.inv = ctx, sub, inv
        self.tz = _tz(sub)
        self.cycle = pricing.Period(
            local_midnight(ctx.cycle[0], self.tz), local_midnight(ctx.cycle[1], self.tz), self.tz
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
        for add_on in self.ctx.tariffs.add_ons[self.sub.pk]:
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
            cap = Decimal(10) ** meter.register_digits
            note = (f"The register rolled over at {_plain(cap)}: ({_plain(last.value)} + "
                    f"{_plain(cap)} − {_plain(first.value)}) × {_plain(meter.multiplier)} = "
                    f"{_plain(result.quantity)}")
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


def finish_totals(inv: DraftInvoice, step: Decimal | None) -> None:
    shares = vat.vat_per_line([(x.tax_rate, x.amount) for x in inv.lines], currency=inv.currency)
    for line, share in zip(inv.lines, shares, strict=True):
        line.tax_amount = share
    gross = inv.net_total + inv.tax_total
    inv.cash_rounding = vat.cash_round(gross, step, currency=inv.currency) if inv.lines else ZERO


def _sources(boundary) -> list[dict[str, str]]:
    if boundary is None:
        return []
    return [{"read_at": timefmt.api_instant(p.at), "value": f"{p.value:f}"}
            for p in boundary.sources]
