"""Daily and monthly consumption rollups (``DailyConsumption``, ``MonthlyConsumption``).

A day is a calendar day in the meter's property time zone (23, 24 or 25 hours), and its
consumption is *the consumption selector's* for [local midnight, next local midnight):
the rollup calls the same segment arithmetic (interpolation at the boundaries from the
unwrapped ``total``, rollover, the assignment's initial value, the multiplier), so a
chart built from rollups and a bill built from the selector cannot disagree.

Only **complete** days are stored: days that end at or before the meter's latest reading.
Their boundaries lie between stored readings, so nothing in a rollup is an estimate; the
day of the latest reading (and anything later) is left to the selector.

Ingestion keeps the rollups up to date for the meter-days a batch touched, set-based, in
the batch's transaction: a new or replaced reading changes the days between its
neighbouring readings; for appended readings the neighbour is known from the meter's
state, for back-fills one query finds them all. The selector's few queries then compute
the days of all touched meters at once (per group of meters sharing a zone and day
range), one ``INSERT … ON CONFLICT DO UPDATE`` writes the days and one rebuilds the
touched months from their days. Most batches complete no day and cost an in-memory check.
Re-ingesting the same readings writes nothing (nothing touched), and an upsert that
would not change a value is skipped by its ``WHERE``. At most ``INLINE_DAYS`` per meter
are computed inline; older days are queued to a task on commit.

:func:`rollups_rebuild` recomputes any range (the ``readings_rollups`` command and the
``readings.tasks.rollups_rebuild_task``), e.g. after an assignment's final reading was
set, or for readings stored before the rollups existed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection

from billspree.core.queue import enqueue_on_commit
from billspree.core.timefmt import local_midnight
from meters.models import MeterAssignment
from readings.selectors import complete_until, id_array, segment_consumption

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DayRange:
    """Local days [first, last] (inclusive) of one meter to recompute, in zone ``tz``."""

    tz: tzinfo
    first: date
    last: date


# --- computing ----------------------------------------------------------------------------


def compute_days(ranges: dict[int, DayRange]) -> list[tuple[int, date, Decimal]]:
    """(meter_id, day, quantity) for every day of every range, via the selector's arithmetic.

    Meters sharing a zone and a day range are computed together (a batch's meters usually
    all share one); days with no assignment (no consumption) and days the selector could
    only estimate are left out.
    """
    groups: dict[tuple[str, date, date], list[int]] = defaultdict(list)
    zones: dict[str, tzinfo] = {}
    for meter_id, r in ranges.items():
        if r.first <= r.last:
            zones[str(r.tz)] = r.tz
            groups[(str(r.tz), r.first, r.last)].append(meter_id)
    out: list[tuple[int, date, Decimal]] = []
    for (zone, first, last), meter_ids in groups.items():
        out.extend(_compute_group(meter_ids, zones[zone], first, last))
    return out


def _compute_group(
    meter_ids: list[int], tz: tzinfo, first: date, last: date
) -> Iterable[tuple[int, date, Decimal]]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    edges = [local_midnight(d, tz) for d in [*days, last + ONE_DAY]]
    periods = list(zip(edges, edges[1:], strict=False))
    day_of = {start: d for (start, _), d in zip(periods, days, strict=True)}
    quantities: dict[tuple[int, date], Decimal | None] = {}
    assignments = MeterAssignment.objects.filter(meter_id__in=id_array(meter_ids))
    found = segment_consumption(assignments, edges[0], edges[-1], periods, estimate=False)
    for segment, result in found:
        key = (segment.meter.id, _period_day(segment.start, periods, day_of))
        so_far = quantities.get(key, Decimal(0))
        if result.quantity is None or result.estimated or so_far is None:
            quantities[key] = None
        else:
            quantities[key] = so_far + result.quantity
    return ((m, d, q) for (m, d), q in quantities.items() if q is not None)


def _period_day(at: datetime, periods, day_of) -> date:
    """The day whose period contains a segment start (segments never cross a period)."""
    found = day_of.get(at)
    if found is not None:
        return found
    for start, end in periods:
        if start <= at < end:
            return day_of[start]
    raise ValueError(at)


# --- writing ------------------------------------------------------------------------------


_UPSERT_DAYS = """
INSERT INTO readings_dailyconsumption AS d (organization_id, meter_id, day, quantity)
SELECT %s, u.meter_id, u.day, u.quantity
FROM unnest(%s::bigint[], %s::date[], %s::numeric[]) AS u(meter_id, day, quantity)
ON CONFLICT (meter_id, day) DO UPDATE SET quantity = EXCLUDED.quantity
WHERE d.quantity <> EXCLUDED.quantity
"""

_UPSERT_MONTHS = """
INSERT INTO readings_monthlyconsumption AS m (organization_id, meter_id, month, quantity, days)
SELECT %s, d.meter_id, t.month, sum(d.quantity), count(*)
FROM unnest(%s::bigint[], %s::date[]) AS t(meter_id, month)
JOIN readings_dailyconsumption d ON d.meter_id = t.meter_id
    AND d.day >= t.month AND d.day < (t.month + interval '1 month')::date
GROUP BY d.meter_id, t.month
ON CONFLICT (meter_id, month) DO UPDATE SET quantity = EXCLUDED.quantity, days = EXCLUDED.days
WHERE (m.quantity, m.days) IS DISTINCT FROM (EXCLUDED.quantity, EXCLUDED.days)
"""


def write_days(
    organization_id: int,
    days: list[tuple[int, date, Decimal]],
    months: set[tuple[int, date]] | None = None,
) -> int:
    """Upsert the days, then rebuild their months (and ``months``) from the stored days."""
    months = sorted({(m, d.replace(day=1)) for m, d, _ in days} | (months or set()))
    if not days and not months:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_DAYS,
            [organization_id, [d[0] for d in days], [d[1] for d in days], [d[2] for d in days]],
        )
        changed = cursor.rowcount
        cursor.execute(
            _UPSERT_MONTHS, [organization_id, [m[0] for m in months], [m[1] for m in months]]
        )
    return changed


# --- after an ingestion batch ---------------------------------------------------------------


_SPANS_SQL = """
SELECT t.meter_id,
       COALESCE(p.read_at, (SELECT min(a.connected_at) FROM meters_meterassignment a
                            WHERE a.meter_id = t.meter_id), t.lo),
       COALESCE(n.read_at, t.hi)
FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS t(meter_id, lo, hi)
LEFT JOIN LATERAL (SELECT read_at FROM readings_reading r
    WHERE r.meter_id = t.meter_id AND r.read_at < t.lo ORDER BY r.read_at DESC LIMIT 1) p ON true
LEFT JOIN LATERAL (SELECT read_at FROM readings_reading r
    WHERE r.meter_id = t.meter_id AND r.read_at > t.hi ORDER BY r.read_at LIMIT 1) n ON true
"""


def touched_ranges(
    touched: dict[int, list[datetime]],
    zones: dict[int, tzinfo],
    latest: dict[int, datetime | None],
    before: dict[int, datetime | None],
    connected: dict[int, datetime],
) -> dict[int, DayRange]:
    """The complete local days whose consumption a batch's written readings can change.

    A reading at t changes the interpolation between its neighbours, so a meter's span is
    [reading before its earliest written one, reading after its latest written one] (the
    connection instant if there is no earlier reading), cut at its last complete day.
    ``before`` is each meter's latest reading when the batch began: for readings appended
    after it (the usual case) it is the previous reading and nothing follows, so only
    back-fills need the query. A meter with no reading before the batch starts at its
    connection (``connected``) and has nothing after the batch either.
    """
    ranges: dict[int, DayRange] = {}
    lookup = []
    for meter_id, (lo, _hi) in touched.items():
        tz = zones[meter_id]
        until = complete_until(latest.get(meter_id), tz)
        if until is None:
            continue
        prev = before.get(meter_id)
        if prev is None:
            prev = min(connected.get(meter_id, lo), lo)
            if prev.astimezone(tz).date() <= until:
                ranges[meter_id] = DayRange(tz, prev.astimezone(tz).date(), until)
        elif lo <= prev:
            lookup.append(meter_id)
        elif prev.astimezone(tz).date() <= until:
            ranges[meter_id] = DayRange(tz, prev.astimezone(tz).date(), until)
    if lookup:
        ranges.update(_looked_up(lookup, touched, zones, latest))
    return ranges


def _looked_up(ids, touched, zones, latest) -> dict[int, DayRange]:
    ids = sorted(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            _SPANS_SQL, [ids, [touched[m][0] for m in ids], [touched[m][1] for m in ids]]
        )
        spans = cursor.fetchall()
    ranges = {}
    for meter_id, lo, hi in spans:
        tz = zones[meter_id]
        last = min(hi.astimezone(tz).date(), complete_until(latest[meter_id], tz))
        first = lo.astimezone(tz).date()
        if first <= last:
            ranges[meter_id] = DayRange(tz, first, last)
    return ranges


#: Days per meter a batch rolls up inside its own transaction; older days (a meter
#: connected long before its first reading, a back-fill of last year) go to a task.
INLINE_DAYS = 62


def rollups_after_ingest(
    organization_id: int,
    touched: dict[int, list[datetime]],
    zones: dict[int, tzinfo],
    latest: dict[int, datetime | None],
    before: dict[int, datetime | None],
    connected: dict[int, datetime],
) -> int:
    """Recompute the rollups of the meter-days an ingestion batch touched (same transaction).

    The last ``INLINE_DAYS`` of each meter's range are computed now; anything older is
    queued (``readings.tasks.rollups_rebuild_task``) when the batch commits, so a first
    reading of a meter connected a year ago does not hold the batch for a year of days.
    """
    if not touched:
        return 0
    ranges = touched_ranges(touched, zones, latest, before, connected)
    deferred: dict[tuple[date, date], list[int]] = defaultdict(list)
    for meter_id, r in list(ranges.items()):
        cut = r.last - timedelta(days=INLINE_DAYS - 1)
        if r.first < cut:
            deferred[(r.first, cut - ONE_DAY)].append(meter_id)
            ranges[meter_id] = DayRange(r.tz, cut, r.last)
    for (first, last), meter_ids in deferred.items():
        _queue_rebuild(organization_id, first, last, meter_ids)
    return write_days(organization_id, compute_days(ranges)) if ranges else 0


def _queue_rebuild(organization_id: int, first: date, last: date, meter_ids: list[int]) -> None:
    enqueue_on_commit("readings.tasks.rollups_rebuild_task", organization_id,
                      first.isoformat(), last.isoformat(), sorted(meter_ids))


# --- rebuilding a range -------------------------------------------------------------------------


def meter_zones(meter_ids: Iterable[int] | None, default_tz: tzinfo) -> dict[int, tzinfo]:
    """Each meter's zone: its latest assignment's property (as ingestion resolves it)."""
    qs = MeterAssignment.objects.all()
    if meter_ids is not None:
        qs = qs.filter(meter_id__in=list(meter_ids))
    rows = qs.order_by("meter_id", "connected_at").values_list(
        "meter_id", "billing_point__property__time_zone"
    )
    zones: dict[int, tzinfo] = {}
    for meter_id, zone in rows:
        zones[meter_id] = _zone(zone) if zone else default_tz
    return zones


def _zone(name) -> tzinfo:
    return name if hasattr(name, "utcoffset") else ZoneInfo(str(name))


#: The latest stored reading of each meter (not the state row: readings loaded outside
#: ingestion, e.g. restored or copied in, have none).
_LATEST_SQL = """
SELECT m.id, r.read_at FROM meters_meter m
CROSS JOIN LATERAL (SELECT read_at FROM readings_reading r WHERE r.meter_id = m.id
    ORDER BY r.read_at DESC LIMIT 1) r
WHERE m.organization_id = %s AND m.id = ANY(%s::bigint[])
"""


def rollups_rebuild(
    *, organization_id: int, zones: dict[int, tzinfo], first: date, last: date
) -> int:
    """Recompute the complete days in [first, last] of the given meters; rows changed.

    Chunked by meters so a whole organization over a year stays within memory.
    """
    ids = sorted(zones)
    changed = 0
    for start in range(0, len(ids), REBUILD_METERS):
        chunk = ids[start : start + REBUILD_METERS]
        with connection.cursor() as cursor:
            cursor.execute(_LATEST_SQL, [organization_id, chunk])
            latest = dict(cursor.fetchall())
        ranges = {}
        for meter_id in chunk:
            until = complete_until(latest.get(meter_id), zones[meter_id])
            if until is not None and first <= min(last, until):
                ranges[meter_id] = DayRange(zones[meter_id], first, min(last, until))
        _delete_range(chunk, first, last)
        months = {(m, month) for m in chunk for month in _months(first, last)}
        changed += write_days(organization_id, compute_days(ranges), months)
    return changed


def _months(first: date, last: date) -> list[date]:
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return out


def _delete_range(meter_ids: list[int], first: date, last: date) -> None:
    """Clear the range before recomputing it, so days that lost their consumption (e.g. an
    assignment moved) disappear; months left without days go too."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM readings_dailyconsumption "
            "WHERE meter_id = ANY(%s::bigint[]) AND day BETWEEN %s AND %s",
            [meter_ids, first, last],
        )
        cursor.execute(
            """DELETE FROM readings_monthlyconsumption m
            WHERE m.meter_id = ANY(%s::bigint[]) AND m.month BETWEEN %s AND %s
              AND NOT EXISTS (SELECT 1 FROM readings_dailyconsumption d
                  WHERE d.meter_id = m.meter_id AND d.day >= m.month
                    AND d.day < (m.month + interval '1 month')::date)""",
            [meter_ids, first.replace(day=1), last],
        )


#: Meters per rebuild step (× days in the range = segments held in memory at once).
REBUILD_METERS = 500
