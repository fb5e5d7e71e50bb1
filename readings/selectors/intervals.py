"""Interval data for time-of-use pricing: readings bracketing each band, for many meters
in one query.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, Window
from django.db.models.functions import Lag

from readings.models import Reading
from readings.registers import metered
from readings.selectors.segments import Segment, id_array

# --- interval data (time-of-use pricing) -----------------------------------------------------

#: Readings further apart than this are not interval data for time-of-use pricing.
INTERVAL_MAX = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Interval:
    """Consumption between two consecutive readings at most ``INTERVAL_MAX`` apart."""

    start: datetime
    end: datetime
    quantity: Decimal


def interval_data(
    *, segments: Iterable[Segment]
) -> dict[tuple[int, datetime, datetime], tuple[Interval, ...]]:
    """Interval data of every meter segment, keyed ``(meter id, start, end)``, in one query:
    consecutive readings in ``[start, end]`` at most ``INTERVAL_MAX`` apart, each
    difference of unwrapped totals × the meter's multiplier (daily readings are not interval
    data; gaps stay uncovered, so time-of-use pricing can say how many hours are missing)."""
    wanted = {(s.meter.id, s.start, s.end): s.meter.multiplier for s in segments}
    if not wanted:
        return {}
    rows = Reading.objects.filter(
        meter_id__in=id_array(sorted({m for m, _, _ in wanted})),
        read_at__gte=min(a for _, a, _ in wanted), read_at__lte=max(b for _, _, b in wanted),
    ).order_by("meter_id", "read_at").values_list("meter_id", "read_at", "total")
    times: dict[int, list[datetime]] = defaultdict(list)
    totals: dict[int, list[Decimal | None]] = defaultdict(list)
    for meter_id, read_at, total in rows:
        times[meter_id].append(read_at)
        totals[meter_id].append(total)
    out = {}
    for (meter_id, start, end), factor in wanted.items():
        at = times.get(meter_id, [])
        lo, hi = bisect_left(at, start), bisect_right(at, end)
        pairs = list(zip(at[lo:hi], totals[meter_id][lo:hi], strict=True))
        out[(meter_id, start, end)] = tuple(
            Interval(a, b, metered(ta, tb, factor))
            for (a, ta), (b, tb) in zip(pairs, pairs[1:], strict=False)
            if b - a <= INTERVAL_MAX and ta is not None and tb is not None
        )
    return out


def meters_with_interval_data(
    *, meter_ids: Iterable[int], start: datetime, end: datetime
) -> set[int]:
    """The meters with two consecutive readings at most ``INTERVAL_MAX`` apart in
    ``[start, end]``: what time-of-use pricing can split into bands (one query)."""
    ids = list(meter_ids)
    if not ids:
        return set()
    gaps = Reading.objects.filter(meter_id__in=ids, read_at__gte=start, read_at__lte=end) \
        .annotate(prev=Window(Lag("read_at"), partition_by=[F("meter_id")],
                              order_by=F("read_at").asc())) \
        .annotate(gap=F("read_at") - F("prev")).filter(gap__lte=INTERVAL_MAX)
    return set(gaps.values_list("meter_id", flat=True))


def reading_times(
    *, meter_id: int, start: datetime, end: datetime, limit: int = 1000
) -> list[datetime]:
    """When the meter was read in ``[start, end]``, oldest first (at most ``limit``)."""
    return list(Reading.objects.filter(meter_id=meter_id, read_at__gte=start, read_at__lte=end)
                .order_by("read_at").values_list("read_at", flat=True)[:limit])
