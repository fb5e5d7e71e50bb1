"""Consumption of meters and billing points over periods, months and charts, from the
segment arithmetic in :mod:`readings.selectors.segments` (and the rollups where complete).
"""

from __future__ import annotations

from calendar import monthrange
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from meters.models import Meter, MeterAssignment
from readings.models import (
    DailyConsumption,
    MeterReadingState,
    MonthlyConsumption,
)
from readings.selectors.segments import (
    Consumption,
    complete_until,
    id_array,
    segment_consumption,
)


def meter_consumption(
    *, meter_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, Consumption]:
    """Consumption of each meter over [start, end), across rollover, replacement, multiplier."""
    ids = list(meter_ids)
    assignments = MeterAssignment.objects.filter(meter_id__in=id_array(ids))
    out = {m: Consumption(start, end) for m in ids}
    for segment, result in segment_consumption(assignments, start, end):
        out[segment.meter.id].unit = segment.meter.unit
        out[segment.meter.id].add(result)
        out[segment.meter.id].parts.append(result)
    return out


def billing_point_consumption(
    *, billing_point_ids: Iterable[int], start: datetime, end: datetime
) -> dict[tuple[int, str], Consumption]:
    """Consumption per (billing point, meter type): the sum of its meters' segments."""
    assignments = MeterAssignment.objects.filter(
        billing_point_id__in=id_array(list(billing_point_ids))
    )
    out: dict[tuple[int, str], Consumption] = {}
    for segment, result in segment_consumption(assignments, start, end):
        key = (segment.assignment.billing_point_id, segment.meter.type)
        total = out.setdefault(key, Consumption(start, end, unit=segment.meter.unit))
        total.add(result)
    return out


def meter_consumption_periods(
    *, meter: Meter, periods: list[tuple[datetime, datetime]]
) -> list[Consumption]:
    """One meter's consumption in each of consecutive periods (e.g. months), in a few queries."""
    out = [Consumption(start, end, unit=meter.unit) for start, end in periods]
    assignments = MeterAssignment.objects.filter(meter_id=meter.id)
    found = segment_consumption(assignments, periods[0][0], periods[-1][1], periods)
    for segment, result in found:
        for c in out:
            if c.start <= segment.start and segment.end <= c.end:
                c.add(result)
                break
    return out


def meter_months_consumption(
    *, meter: Meter, periods: list[tuple[datetime, datetime]]
) -> list[Consumption]:
    """A meter's consumption per local calendar month (``periods`` start at local midnights
    of the 1st), for charts: complete months come from ``MonthlyConsumption`` in one query,
    the rest (the current month, months without rollups) from the selector.
    """
    tz = periods[0][0].tzinfo
    state = MeterReadingState.objects.filter(meter_id=meter.id).first()
    until = complete_until(state.last_read_at if state else None, tz)
    rows = MonthlyConsumption.objects.filter(
        meter_id=meter.id, month__in=[s.date() for s, _ in periods]
    ).values_list("month", "quantity", "days")
    # a month with fewer rolled-up days (connected mid-month, older days still queued)
    # is computed instead
    months = {m: q for m, q, days in rows if days == monthrange(m.year, m.month)[1]}
    out: list[Consumption | None] = []
    for start, end in periods:
        complete = until is not None and (end - timedelta(days=1)).date() <= until
        rolled = months.get(start.date()) if complete else None
        out.append(None if rolled is None else Consumption(start, end, rolled, meter.unit))
    rest = [p for p, c in zip(periods, out, strict=True) if c is None]
    computed = iter(meter_consumption_periods(meter=meter, periods=rest) if rest else [])
    return [c if c is not None else next(computed) for c in out]


#: At most this many rollup rows per chart request (about ten years of days).
CHART_ROWS = 3700


def consumption_rollup(
    *, meter: Meter, interval: str, first: date | None = None, last: date | None = None
) -> list[tuple[date, Decimal]]:
    """(local day or month, quantity) rows of a meter's rollups, oldest first."""
    model, column = (
        (DailyConsumption, "day") if interval == "day" else (MonthlyConsumption, "month")
    )
    qs = model.objects.filter(meter_id=meter.id)
    if first is not None:
        qs = qs.filter(**{f"{column}__gte": first.replace(day=1) if column == "month" else first})
    if last is not None:
        qs = qs.filter(**{f"{column}__lte": last})
    return list(qs.order_by(column).values_list(column, "quantity")[:CHART_ROWS])




def consumption_by_meter_type(
    results: dict[tuple[int, str], Consumption],
) -> dict[int, dict[str, Consumption]]:
    grouped: dict[int, dict[str, Consumption]] = defaultdict(dict)
    for (bp, kind), c in results.items():
        grouped[bp][kind] = c
    return dict(grouped)
