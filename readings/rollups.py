"""Hourly, daily and monthly consumption rollups (``HourlyConsumption``,
``DailyConsumption``, ``MonthlyConsumption``).

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

Hours are written with their days, in the same statement batch: the selector computes
each day segment as before (two boundary totals), and one SQL statement (:data:`_HOURS_SQL`)
interpolates the totals at the hour edges inside it from the same readings the selector
used at its ends and those in between, with the selector's interpolation and half-even
rounding. An hour is the difference of the cumulative consumption since the segment's
start, and the last edge is the segment's own quantity, so the hours of a day add up to
the day *exactly*; with multiplier 1 each hour also equals the selector over that hour,
with a fractional multiplier it may differ from it by the last stored place. An hour is
the local day's midnight + n hours (stored as an instant): a DST day has 23 or 25.
Computing hours costs one set-based statement per batch that completes days (no Python
per hour); a batch that completes no day still costs nothing.

:func:`rollups_rebuild` recomputes any range (the ``readings_rollups`` command and the
``readings.tasks.rollups_rebuild_task``), e.g. after an assignment's final reading was
set, or for readings stored before the rollups existed.

Every write of rollups (:func:`write_days`, which the rebuild goes through too) changes the
organization's :func:`rollups_version`, a token in the shared cache: readers that cache
what they derive from the rollups (the energy dashboard) key their entries by it, so a
new complete day shows at once.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection, transaction

from billspree.core.queue import enqueue_on_commit
from billspree.core.timefmt import local_midnight
from meters.models import MeterAssignment
from readings.selectors import complete_until, id_array, segment_consumption

log = logging.getLogger(__name__)

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DayRange:
    """Local days [first, last] (inclusive) of one meter to recompute, in zone ``tz``."""

    tz: tzinfo
    first: date
    last: date


# --- computing ----------------------------------------------------------------------------


def compute_days(ranges: dict[int, DayRange]) -> Computed:
    """(meter_id, day, quantity) for every day of every range, via the selector's arithmetic,
    and the day segments the hourly rollup is cut from.

    Meters sharing a zone and a day range are computed together (a batch's meters usually
    all share one); days with no assignment (no consumption) and days the selector could
    only estimate are left out (and so are their hours).
    """
    groups: dict[tuple[str, date, date], list[int]] = defaultdict(list)
    zones: dict[str, tzinfo] = {}
    for meter_id, r in ranges.items():
        if r.first <= r.last:
            zones[str(r.tz)] = r.tz
            groups[(str(r.tz), r.first, r.last)].append(meter_id)
    out = Computed()
    for (zone, first, last), meter_ids in groups.items():
        _compute_group(out, meter_ids, zones[zone], first, last)
    return out


@dataclass(slots=True)
class Computed:
    """Days to write, and the day segments (see :data:`_HOURS_SQL`) their hours come from."""

    days: list[tuple[int, date, Decimal]] = field(default_factory=list)
    segments: list[tuple] = field(default_factory=list)


def _compute_group(out: Computed, meter_ids: list[int], tz: tzinfo, first: date, last: date):
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    edges = [local_midnight(d, tz) for d in [*days, last + ONE_DAY]]
    periods = list(zip(edges, edges[1:], strict=False))
    day_of = {start: d for (start, _), d in zip(periods, days, strict=True)}
    quantities: dict[tuple[int, date], Decimal | None] = {}
    parts: dict[tuple[int, date], list] = defaultdict(list)
    assignments = MeterAssignment.objects.filter(meter_id__in=id_array(meter_ids))
    found = segment_consumption(assignments, edges[0], edges[-1], periods, estimate=False)
    for segment, result in found:
        key = (segment.meter.id, _period_day(segment.start, periods, day_of))
        so_far = quantities.get(key, Decimal(0))
        if result.quantity is None or result.estimated or so_far is None:
            quantities[key] = None
        else:
            quantities[key] = so_far + result.quantity
            parts[key].append((segment, result))
    for (m, d), q in quantities.items():
        if q is not None:
            out.days.append((m, d, q))
            origin = _epoch(local_midnight(d, tz))
            out.segments.extend(_hour_input(s, r, origin) for s, r in parts[(m, d)])


def _epoch(at: datetime) -> Decimal:
    """Seconds since 1970 to the microsecond, exactly (a float would round them)."""
    return Decimal((at - EPOCH) // timedelta(microseconds=1)).scaleb(-6)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _hour_input(segment, result, origin: Decimal) -> tuple:
    """What the hours of one day segment need: its bounds, the readings (or initial/final
    values) just outside them, its boundary totals and quantity, the day's midnight."""
    left, right = result.first.sources[0], result.last.sources[-1]
    return (
        segment.meter.id, _epoch(segment.start), _epoch(segment.end),
        _epoch(left.at), left.total, _epoch(right.at), right.total,
        result.first.total, segment.meter.multiplier, result.quantity, origin,
    )  # fmt: skip


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


def _version_key(organization_id: int) -> str:
    # the database's name too: test databases (and instances) sharing one Redis never mix
    return f"readings:rollups-version:{connection.settings_dict['NAME']}:{organization_id}"


def rollups_version(organization_id: int) -> str:
    """A token that changes whenever the organization's rollups are written ("0" if the
    cache has none or cannot be reached: a reader then recomputes, as after any change)."""
    try:
        return cache.get(_version_key(organization_id)) or "0"
    except Exception:  # the cache server is down
        log.warning("rollups version of organization %s not readable", organization_id,
                    exc_info=True)
        return "0"


def rollups_changed(organization_id: int) -> None:
    """Give the organization's rollups a new version: now (so this transaction's own reads
    see it) and again on commit (so an entry cached from the old rows by a concurrent
    reader between the two is not used after the commit). A cache that cannot be reached
    only logs: ingestion does not fail for it (cached entries then expire by their TTL)."""
    def bump() -> None:
        try:
            cache.set(_version_key(organization_id), uuid.uuid4().hex, timeout=None)
        except Exception:  # the cache server is down: never fail ingestion for it
            log.warning("rollups version of organization %s not changed", organization_id,
                        exc_info=True)

    bump()
    transaction.on_commit(bump)


def write_days(
    organization_id: int,
    computed: Computed,
    months: set[tuple[int, date]] | None = None,
) -> int:
    """Upsert the days and their hours, then rebuild their months (and ``months``) from the
    stored days."""
    days = computed.days
    months = sorted({(m, d.replace(day=1)) for m, d, _ in days} | (months or set()))
    if not days and not months:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_DAYS,
            [organization_id, [d[0] for d in days], [d[1] for d in days], [d[2] for d in days]],
        )
        changed = cursor.rowcount
        if computed.segments:
            _write_hours(cursor, organization_id, computed.segments)
        cursor.execute(
            _UPSERT_MONTHS, [organization_id, [m[0] for m in months], [m[1] for m in months]]
        )
    rollups_changed(organization_id)
    return changed


def _write_hours(cursor, organization_id: int, segments: list[tuple]) -> None:
    """The hours statement, without JIT and with room for its aggregate: its row estimates
    (``generate_series`` per line) are far too high, so it would compile JIT code for
    seconds and plan its final aggregate to spill to disk."""
    columns = [list(c) for c in zip(*segments, strict=True)]
    with transaction.atomic():
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '32MB'")
        cursor.execute(_HOURS_SQL, [*columns, organization_id])


#: The hours of day segments, in one statement. For each segment [s, e) of a meter's
#: assignment within a local day (epoch seconds): the points are the readings the
#: selector used just outside it (``la``/``ra``: the reading at or before s, at or after
#: e, or the assignment's initial/final value, with their unwrapped totals) and every
#: reading between them; the total at each hour edge inside (s, e) is interpolated
#: between the two points around it exactly as the selector does it (linear in time,
#: rounded half-even to 4 places). Hour n's quantity is C(n+1) − C(n), C being the
#: cumulative consumption since s (× multiplier, rounded), C(s) = 0 and C(e) = the
#: segment's quantity from the selector: the hours of a day add up to the day exactly.
_HOURS_SQL = """
WITH seg AS (
    SELECT u.* FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[],
        %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[],
        %s::numeric[], %s::numeric[])
        WITH ORDINALITY AS u(meter_id, s, e, la, lt, ra, rt, t0, m, q, origin, i)
), pts AS (
    SELECT i, la AS at, lt AS total FROM seg
    UNION ALL SELECT i, ra, rt FROM seg
    UNION ALL SELECT seg.i, r.at, r.total FROM seg CROSS JOIN LATERAL (
        SELECT extract(epoch FROM read_at) AS at, total FROM readings_reading r
        WHERE r.meter_id = seg.meter_id AND r.read_at > to_timestamp(seg.la::float8)
          AND r.read_at < to_timestamp(seg.ra::float8)) r
), lines AS (
    SELECT i, at AS a0, total AS v0, lead(at) OVER w AS a1, lead(total) OVER w AS v1
    FROM pts WINDOW w AS (PARTITION BY i ORDER BY at)
), raw AS (
    SELECT seg.i, x.at, seg.m, seg.t0, CASE WHEN x.at = l.a0 THEN l.v0
               ELSE l.v0 + (l.v1 - l.v0) * ((x.at - l.a0) / (l.a1 - l.a0)) END AS total
    FROM lines l JOIN seg ON seg.i = l.i
    CROSS JOIN LATERAL generate_series(
        ceil((greatest(l.a0, seg.s) - seg.origin) / 3600)::int,
        ceil((least(l.a1, seg.e) - seg.origin) / 3600)::int - 1) k
    CROSS JOIN LATERAL (SELECT seg.origin + k * 3600 AS at) x
    WHERE l.a1 IS NOT NULL AND x.at > seg.s
), metered AS (  -- readings_round4 of a plain column is inlined; of an expression it is not
    SELECT i, at, m * (readings_round4(total) - t0) AS c FROM raw
), edges AS (
    SELECT i, at, readings_round4(c) AS c FROM metered
), cumulative AS (
    SELECT i, s AS at, 0::numeric AS c FROM seg
    UNION ALL SELECT i, at, c FROM edges
    UNION ALL SELECT i, e, q FROM seg
), hours AS (
    SELECT i, at, lead(c) OVER w - c AS quantity
    FROM cumulative WINDOW w AS (PARTITION BY i ORDER BY at)
)
INSERT INTO readings_hourlyconsumption AS h (organization_id, meter_id, hour, quantity)
SELECT %s, seg.meter_id,
       to_timestamp((seg.origin + floor((hours.at - seg.origin) / 3600) * 3600)::float8),
       sum(hours.quantity)
FROM hours JOIN seg ON seg.i = hours.i
WHERE hours.quantity IS NOT NULL
GROUP BY 2, 3
ON CONFLICT (meter_id, hour) DO UPDATE SET quantity = EXCLUDED.quantity
WHERE h.quantity <> EXCLUDED.quantity
"""


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
        _delete_hours({m: zones[m] for m in chunk}, first, last)
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


def _delete_hours(zones: dict[int, tzinfo], first: date, last: date) -> None:
    """Clear the hours of the local days [first, last] (per zone: the days' instants differ)."""
    by_zone: dict[str, list[int]] = defaultdict(list)
    for meter_id, tz in zones.items():
        by_zone[str(tz)].append(meter_id)
    with connection.cursor() as cursor:
        for zone, meter_ids in by_zone.items():
            cursor.execute(
                "DELETE FROM readings_hourlyconsumption WHERE meter_id = ANY(%s::bigint[]) "
                "AND hour >= %s AND hour < %s",
                [meter_ids, local_midnight(first, zone), local_midnight(last + ONE_DAY, zone)],
            )


#: Meters per rebuild step (× days in the range = segments held in memory at once).
REBUILD_METERS = 500
