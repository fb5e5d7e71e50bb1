"""Time of use: cutting interval data at band edges in local wall-clock time (DST-safe)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tariffs.pricing.values import ZERO, Band, Interval, Period, PricingError, Rule


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
    """Quantities per band name, and how much of the period the intervals cover.

    Band edges are computed once for the whole period and found per interval by bisection,
    so a month of 15-minute data costs one pass. Overlapping intervals are refused (they
    would count the same energy twice).
    """
    tz = period.tz
    per_band: dict[str, Decimal] = defaultdict(lambda: ZERO)
    covered = timedelta(0)
    p_start, p_end = period.start.astimezone(UTC), period.end.astimezone(UTC)
    edges_all = _boundaries(rule, p_start, p_end, tz)
    previous_end = None
    for interval in sorted(intervals, key=lambda i: i.start.astimezone(UTC)):
        start, end = interval.start.astimezone(UTC), interval.end.astimezone(UTC)
        if end <= start:
            raise PricingError("An interval must end after it starts.")
        if previous_end is not None and start < previous_end:
            raise PricingError(f"Intervals overlap at {start.astimezone(tz)}.")
        previous_end = end
        length = Decimal((end - start) / timedelta(microseconds=1))
        clip_start, clip_end = max(start, p_start), min(end, p_end)
        if clip_end <= clip_start:
            continue
        covered += clip_end - clip_start
        inner = edges_all[bisect_right(edges_all, clip_start):bisect_left(edges_all, clip_end)]
        edges = [clip_start, *inner, clip_end]
        for a, b in zip(edges, edges[1:], strict=False):
            share = Decimal((b - a) / timedelta(microseconds=1)) / length
            band = band_at(rule, (a + (b - a) / 2).astimezone(tz))
            if band is None:
                raise PricingError(f"No band of {rule.name} covers {a.astimezone(tz)}.")
            per_band[band.name] += interval.quantity * share
    return dict(per_band), covered
