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
same cuts); rate lists, versions and rules are one ``tariffs.selectors.rate_book`` for the
batch, and time-of-use interval data one ``readings.selectors.interval_data`` query.

This module loads a batch (:class:`BatchContext`) and cuts each subscription's period; the
draft value types are in ``billing.drafts`` and the pricing of one invoice's parts in
``billing.invoice_builder``. ``billing.engine`` re-exports what callers use (``__all__``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Q

from billing import adjustments
from billing.drafts import (
    ZERO,
    Diagnostic,
    DraftInvoice,
    DraftLine,
    Preview,
    UsageRef,
    finish_totals,
)
from billing.invoice_builder import (
    InvoiceBuilder,
    needs_interval_data,
    subscription_tz,
)
from billing.models import BilledPeriod, Invoice, Subscription
from billspree.core import timefmt
from meters.models import MeterAssignment
from readings import selectors as readings_selectors
from readings.selectors import INTERVAL_MAX
from tariffs import pricing
from tariffs import selectors as tariff_selectors
from tenants.selectors import occupants_for_billing_points

__all__ = [
    "INTERVAL_MAX", "ZERO", "BatchContext", "Diagnostic", "DraftInvoice", "DraftLine",
    "InvoiceBuilder", "Preview", "UsageRef", "compute", "finish_totals",
    "needs_interval_data", "subscription_tz",
]

_tz = subscription_tz


def _days(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """``[start, end)`` as the inclusive local days of a message: "1–30 Sep 2026"."""
    return timefmt.format_period(start, end, tz)


def _clip(sub: Subscription, start: date, end: date) -> tuple[date, date] | None:
    lo = max(start, sub.start_date)
    hi = min(end, sub.end_date) if sub.end_date else end
    return (lo, hi) if lo < hi else None


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
    ctx = BatchContext(subs, clipped, start, end, rerate_of, replacing)
    for sub in subs:
        preview.invoices.extend(ctx.invoices_for(sub))
    return preview


class BatchContext:
    """Everything loaded once for a batch of subscriptions."""

    def __init__(self, subs: list[Subscription], clipped: dict[int, tuple[date, date]],
                 start: date, end: date, rerate_of: frozenset[int] | None = None,
                 replacing: frozenset[int] = frozenset()):
        self.subs = subs
        self.rerate_of = rerate_of
        self.replacing = replacing
        self.cycle = (start, end)
        self.window = {
            s.pk: (timefmt.local_midnight(a, _tz(s)), timefmt.local_midnight(b, _tz(s)), a, b)
            for s, (a, b) in ((s, clipped[s.pk]) for s in subs)
        }
        #: rate lists, versions, rules and add-ons of every subscription (a subscription
        #: is its own rate subject: billing point, plan, variant)
        self.tariffs = tariff_selectors.rate_book(
            subjects=subs, start=min(w[2] for w in self.window.values()),
            end=max(w[3] for w in self.window.values()),
        )
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
        self._intervals: dict | None = None  # see intervals()

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
        cuts |= {timefmt.local_midnight(d, tz) for d in self.rates[sub.pk].cuts()}
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
        """Interval data of a meter segment for time-of-use rules
        (``readings.selectors.interval_data``). Loaded at the first call, in one query, for
        every segment whose meter type a time-of-use rule may price in the batch."""
        if self._intervals is None:
            self._intervals = readings_selectors.interval_data(segments=self._tou_segments())
        key = (segment.meter.id, segment.start, segment.end)
        if key not in self._intervals:  # not foreseen: load it on its own
            self._intervals.update(readings_selectors.interval_data(segments=[segment]))
        return tuple(pricing.Interval(i.start, i.end, i.quantity) for i in self._intervals[key])

    def _tou_segments(self) -> list:
        out = []
        for sub in self.subs:
            versions = self.rates[sub.pk].versions
            tou = {
                t for t, vs in versions.items() for v in vs for r in self.tariffs.rules_of(v)
                if r.meter_type == t and needs_interval_data([r])
            }
            out.extend(seg for seg, _ in self.segments.get(sub.billing_point_id, [])
                       if seg.meter.type in tou)
        return out

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
            InvoiceBuilder(self, sub, by_tenant[key]).add_segment(
                occ.start, occ.end, occ.is_vacancy
            )
        invoices = list(by_tenant.values())
        for inv in invoices:
            adjustments.add_pending_lines(self, inv)
            InvoiceBuilder(self, sub, inv).finish()
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

