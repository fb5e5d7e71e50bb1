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

from billspree.core import timefmt
from meters.models import Meter
from readings.rollups import local_midnight
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


def month_starts(tz: tzinfo, months: int, today: datetime | None = None) -> list[datetime]:
    """Local midnights of the 1st of the last ``months`` months and of the next month."""
    now = (today or timezone.now()).astimezone(tz)
    starts = []
    for back in range(months - 1, -2, -1):
        y, m = divmod(now.year * 12 + now.month - 1 - back, 12)
        starts.append(datetime(y, m + 1, 1, tzinfo=tz))
    return starts


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
    starts = month_starts(tz, months)
    bars = [MonthBar(s, e) for s, e in zip(starts, starts[1:], strict=False)]
    by_point = {a.billing_point_id: [] for a in assignments}
    for a in assignments:
        by_point[a.billing_point_id].append(a.pk)
    occupancies = list(
        Occupancy.objects.filter(tenant=tenant, billing_point_id__in=list(by_point))
        .order_by("move_in")
    )
    for point_id, assignment_ids in by_point.items():
        here = [o for o in occupancies if o.billing_point_id == point_id]
        pieces = [p for bar in bars for p in _pieces(here, bar.start, bar.end)]
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
