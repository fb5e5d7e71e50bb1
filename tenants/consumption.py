"""What a tenant sees of a meter's consumption: only the part of each month they lived there.

A meter belongs to a billing point, not to a tenant: the previous and the next occupant
used the same meter. The tenant portal therefore never shows the meter's own rollups;
it cuts every local calendar month at the tenant's occupancies of the billing point
(``tenants`` occupancies ∩ month) and asks the readings selector for exactly those pieces
(one ``segment_consumption`` call per billing point: a few queries for a year of months).

Days come from the meter's daily rollups, but only days the tenant lived there from
midnight to midnight *and* the meter hung at their billing point all day; the move day
itself is left out rather than shown with someone else's hours in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from billspree.core import charts, timefmt
from billspree.core.timefmt import local_midnight
from meters.models import Meter
from readings.charts import last_read_at, month_starts, so_far_periods
from readings.selectors import consumption_rollup, segment_consumption
from tenants.models import Occupancy, Tenant
from tenants.portal import for_tenant


@dataclass
class MonthBar:
    start: datetime
    end: datetime
    quantity: Decimal | None = None
    estimated: bool = False
    occupied: bool = False  # the tenant lived there during (part of) the month
    percent: int = 0
    #: the month in progress: its quantity runs up to the latest reading, not to its end
    so_far: bool = False

    @property
    def label(self) -> str:
        """"Nov 2026": the local month (``start`` is local midnight of the 1st, which in
        UTC is still the month before east of Greenwich)."""
        return timefmt.format_month(self.start, self.start.tzinfo)

    @property
    def month_name(self) -> str:
        return timefmt.month_name(self.start.date())


def _zone(value) -> tzinfo:
    return value if hasattr(value, "utcoffset") else ZoneInfo(str(value))


def _pieces(occupancies: list[Occupancy], start: datetime, end: datetime):
    """[start, end) cut to each occupancy: the stretches the tenant was there."""
    for occ in occupancies:
        lo, hi = max(start, occ.move_in), min(end, occ.move_out or end)
        if lo < hi:
            yield lo, hi


def tenant_meter_months(*, tenant: Tenant, meter: Meter, months: int = 12) -> list[MonthBar]:
    """The tenant's share of ``meter``'s consumption per local month, oldest first.

    ``meter`` must be one of the tenant's (looked up through ``for_tenant("meter", ...)``);
    only its assignments that overlap the tenant's occupancies count.
    """
    assignments = list(
        for_tenant("assignment", tenant)
        .filter(meter=meter)
        .select_related("billing_point__property")
    )
    if not assignments:
        return []
    tz = _zone(assignments[-1].billing_point.property.time_zone)
    now = timezone.now()
    starts = month_starts(tz, months, now)
    # the month in progress only up to the latest reading ("so far"), never projected
    spans = so_far_periods(starts, now, last_read_at(meter))
    bars = [MonthBar(s, e, so_far=s <= now < e) for s, e in zip(starts, starts[1:], strict=False)]
    by_point = {a.billing_point_id: [] for a in assignments}
    for a in assignments:
        by_point[a.billing_point_id].append(a.pk)
    occupancies = list(
        Occupancy.objects.filter(tenant=tenant, billing_point_id__in=list(by_point))
        .order_by("move_in")
    )
    for point_id, assignment_ids in by_point.items():
        here = [o for o in occupancies if o.billing_point_id == point_id]
        for bar in bars:
            bar.occupied |= any(True for _ in _pieces(here, bar.start, bar.end))
        pieces = [p for span in spans if span for p in _pieces(here, *span)]
        if not pieces:
            continue
        qs = for_tenant("assignment", tenant).filter(pk__in=assignment_ids)
        for segment, result in segment_consumption(qs, pieces[0][0], pieces[-1][1], pieces):
            _add(bars, segment.start, result)
    _scale(bars)
    return bars


def _add(bars: list[MonthBar], at: datetime, result) -> None:
    for bar in bars:
        if bar.start <= at < bar.end:
            bar.occupied = True
            bar.estimated |= result.flagged  # as the invoice flags it (start or end)
            if result.quantity is not None:
                bar.quantity = (bar.quantity or Decimal(0)) + result.quantity
            return


def _scale(bars: list[MonthBar]) -> None:
    peak = max((b.quantity for b in bars if b.quantity), default=Decimal(0))
    for b in bars:
        b.percent = int(b.quantity * 100 / peak) if peak and b.quantity and b.quantity > 0 else 0


@dataclass
class DayBar:
    day: date
    quantity: Decimal | None = None
    occupied: bool = False  # the whole local day was the tenant's
    percent: int = 0


def _whole_day_ranges(tenant: Tenant, assignments) -> list[tuple[datetime, datetime | None]]:
    """[start, end) stretches where the tenant lived at the meter's billing point and the
    meter hung there (occupancy ∩ assignment)."""
    occupancies = Occupancy.objects.filter(
        tenant=tenant, billing_point_id__in=[a.billing_point_id for a in assignments]
    )
    ranges = []
    for a in assignments:
        for occ in occupancies:
            if occ.billing_point_id != a.billing_point_id:
                continue
            lo = max(a.connected_at, occ.move_in)
            ends = [e for e in (a.removed_at, occ.move_out) if e is not None]
            hi = min(ends) if ends else None
            if hi is None or lo < hi:
                ranges.append((lo, hi))
    return ranges


def tenant_meter_days(*, tenant: Tenant, meter: Meter, days: int = 31) -> list[DayBar]:
    """The last ``days`` complete local days of ``meter`` that were wholly the tenant's."""
    assignments = list(
        for_tenant("assignment", tenant).filter(meter=meter)
        .select_related("billing_point__property")
    )
    if not assignments:
        return []
    tz = _zone(assignments[-1].billing_point.property.time_zone)
    today = timezone.now().astimezone(tz).date()
    first = today - timedelta(days=days)
    stored = dict(consumption_rollup(meter=meter, interval="day", first=first, last=today))
    ranges = _whole_day_ranges(tenant, assignments)
    bars = []
    for n in range(days):
        day = first + timedelta(days=n)
        start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        whole = any(lo <= start and (hi is None or end <= hi) for lo, hi in ranges)
        bars.append(DayBar(day, stored.get(day) if whole else None, whole))
    _scale(bars)
    return bars


# --- the charts of the tenant portal (drawn by {% chart %}) ---------------------------------

NOT_YOURS_MONTH = "you did not live there"
NOT_YOURS_DAY = "not wholly your day"


def tenant_month_chart(
    *, meter: Meter, bars: list[MonthBar], id_suffix: str = "months"
) -> charts.Chart | None:
    """The tenant's months of ``meter`` (from :func:`tenant_meter_months`) as a chart."""
    if not bars:
        return None
    tz = bars[0].start.tzinfo
    chart = charts.month_chart(
        id=f"my-{meter.public_id}-{id_suffix}",
        title=f"{meter.get_type_display()} {meter.serial_number} per month",
        unit=meter.unit,
        months=[b.start.date() for b in bars],
        today=timezone.now().astimezone(tz).date(),
        x_title="Month",
        zone=tz,
    )
    notes, marks = [], []
    for b in bars:
        if not b.occupied:
            notes.append(NOT_YOURS_MONTH)
            marks.append("away")
        elif b.quantity is None:
            notes.append("no readings yet" if b.so_far else "no readings")
            marks.append("")
        else:
            notes.append("partly estimated" if b.estimated else "")
            marks.append("estimated" if b.estimated else "")
    return chart.add(charts.Series(
        name="Your consumption",
        values=[b.quantity if b.occupied else None for b in bars],
        notes=notes,
        marks=marks,
    ))


def tenant_day_chart(
    *, meter: Meter, days: list[DayBar], tz: tzinfo | None = None
) -> charts.Chart | None:
    """The tenant's complete days of ``meter`` (from :func:`tenant_meter_days`) as a chart."""
    if not days:
        return None
    today = timezone.now().astimezone(tz).date() if tz else timezone.localdate()
    chart = charts.day_chart(
        id=f"my-{meter.public_id}-days",
        title=f"{meter.get_type_display()} {meter.serial_number} per day",
        unit=meter.unit,
        days=[d.day for d in days],
        today=today,
        x_title="Day",
        zone=tz,
    )
    return chart.add(charts.Series(
        name="Your consumption",
        values=[d.quantity if d.occupied else None for d in days],
        notes=[NOT_YOURS_DAY if not d.occupied else ("" if d.quantity is not None
               else "not complete yet or no data") for d in days],
    ))
