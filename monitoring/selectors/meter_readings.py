"""Scheduled meter reading: the register of each meter (and chosen measurements) at given
local time points — every hour, every day at a time, or each month end (24:00 of its last
day) — in the time zone of the meter's property.

Why the billing engine's arithmetic: a value here is what an invoice starting or ending at
that instant would use (:func:`readings.selectors.segments.register_values`: the same
neighbouring readings, the same linear interpolation, the assignment's initial and final
values at connection and removal), so a "register at 00:00" on this page and on a bill
never disagree. Each value says how it was had:

* ``read``: a reading (or the assignment's initial/final value) lies exactly at the instant;
* ``interpolated``: linear in time between the readings around the instant;
* ``estimated``: one of those readings is itself of quality "estimated";
* empty, with the reason: after the last reading (nothing is extrapolated), before the
  meter was connected, after it was removed (and by which meter it was replaced).

Local times that do not exist (02:30 on the spring-forward day) are taken as the same
wall-clock time after the change (03:30, PEP 495 ``fold=0``) and say so; local times that
occur twice (02:30 on the autumn day) are taken at their first occurrence (summer time)
and say so. Hourly points step through absolute hours, so a DST day has 23 or 25 of them.

Set-based: a fixed handful of queries whatever the number of meters and points (meters
and assignments; readings around every point at once; measurement series; measurements
around every point at once). ``MAX_CELLS`` bounds meters × points.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection

from meters.models import MeterAssignment
from monitoring.selectors.energy import Ref
from readings.measurements.models import UNITS, MeasurementSeries, Quantity
from readings.selectors.segments import id_array, register_values

HOUR, DAY, MONTH_END, LIST = "hour", "day", "month_end", "list"
EVERY = (HOUR, DAY, MONTH_END, LIST)
#: local times one ``every=list`` request may name
MAX_TIMES = 1000
READ, INTERPOLATED, ESTIMATED = "read", "interpolated", "estimated"
BASES = (READ, INTERPOLATED, ESTIMATED)
#: meters × time points one request may ask for (a year of hours for two meters)
MAX_CELLS = 20_000
#: quantities a meter measures (sensors' temperature and humidity are not meters')
METER_QUANTITIES = tuple(q for q in Quantity.values if q not in ("temperature", "humidity"))
DEFAULT_TOLERANCE = timedelta(minutes=15)
MAX_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TimePoint:
    """A point of the schedule: the wall-clock time as asked (``label``, "2026-10-31 24:00"
    for a month end), the instant it is (aware, in the property's zone), and a note when
    the wall-clock time does not exist or is ambiguous that day."""

    label: str
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class MeasuredValue:
    """A measurement at or up to ``tolerance`` before the point (``None``: none there)."""

    value: float | None
    measured_at: datetime | None
    unit: str


@dataclass(slots=True)
class MeterReadingRow:
    meter: Ref
    billing_point: Ref | None
    property: Ref | None
    point: TimePoint
    unit: str
    #: the register as it reads (wrapped at its digits), 4 places; None: see ``note``
    value: Decimal | None
    #: read / interpolated / estimated, "" when there is no value
    basis: str
    note: str
    #: the readings (instant, register) the value came from
    sources: list[tuple[datetime, Decimal]] = field(default_factory=list)
    measurements: dict[str, MeasuredValue] = field(default_factory=dict)


@dataclass(slots=True)
class MeterReadingReport:
    first: date
    last: date
    every: str
    at: time
    measurements: tuple[str, ...]
    tolerance: timedelta
    rows: list[MeterReadingRow]


# --- the schedule ----------------------------------------------------------------------------


def time_points(zone: tzinfo, first: date, last: date, every: str,
                at: time = time(0), times: Sequence[datetime] = ()) -> list[TimePoint]:
    """The schedule's points over the local days [first, last] in ``zone``; for
    ``every=list`` the naive local ``times`` themselves (in order, each once)."""
    if every == LIST:
        return [_wall_clock(t.date(), t.time(), zone) for t in sorted(set(times))]
    if every == HOUR:
        start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        hours = int((end - start).total_seconds() // 3600)
        return [_hour_point(start + timedelta(hours=n), zone) for n in range(hours)]
    if every == MONTH_END:
        return [_month_end(y, m, zone) for y, m in _months(first, last)
                if first <= date(y, m, calendar.monthrange(y, m)[1]) <= last]
    days = (last - first).days + 1
    return [_wall_clock(first + timedelta(days=n), at, zone) for n in range(days)]


def _hour_point(instant: datetime, zone: tzinfo) -> TimePoint:
    local = instant.astimezone(zone)
    return TimePoint(f"{local:%Y-%m-%d %H:%M}", local)


def _months(first: date, last: date) -> Iterable[tuple[int, int]]:
    for n in range(first.year * 12 + first.month - 1, last.year * 12 + last.month):
        yield divmod(n, 12)[0], divmod(n, 12)[1] + 1


def _month_end(year: int, month: int, zone: tzinfo) -> TimePoint:
    """24:00 of the month's last day: the instant the next month begins."""
    last = date(year, month, calendar.monthrange(year, month)[1])
    instant = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return TimePoint(f"{last:%Y-%m-%d} 24:00", instant)


def _wall_clock(day: date, at: time, zone: tzinfo) -> TimePoint:
    """``at`` on ``day``: a time skipped by the spring change is taken the same wall-clock
    time after it, a repeated one at its first occurrence, and the point says so."""
    label = f"{day:%Y-%m-%d} {at:%H:%M}"
    first = datetime.combine(day, at, tzinfo=zone)
    second = first.replace(fold=1)
    resolved = first.astimezone(UTC).astimezone(zone)
    if resolved.replace(tzinfo=None) != first.replace(tzinfo=None):
        note = (f"{at:%H:%M} does not exist on {day:%d %b %Y} (clocks go forward): "
                f"taken at {resolved:%H:%M} {resolved.tzname()}.")
        return TimePoint(label, resolved, note)
    if first.utcoffset() != second.utcoffset():
        note = (f"{at:%H:%M} occurs twice on {day:%d %b %Y} (clocks go back): the first, "
                f"{first.tzname()}, is taken.")
        return TimePoint(label, first.astimezone(zone), note)
    return TimePoint(label, first)


def check_size(meters: int, points: int) -> None:
    if meters * points > MAX_CELLS:
        raise ValidationError({"to": [
            f"{meters} meters × {points} time points = {meters * points} values; at most "
            f"{MAX_CELLS:,} at once: shorten the period, read less often or choose fewer "
            f"meters."]})


# --- the report ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Placed:
    """A selected meter: where it is (its latest placement in the window) and when it was
    connected and removed at the selected places."""

    meter: Ref
    unit: str
    billing_point: Ref
    property: Ref
    zone: ZoneInfo
    spans: list[tuple[datetime, datetime | None, int]] = field(default_factory=list)
    #: billing point pk → its Ref, for every selected place of the meter
    places: dict[int, Ref] = field(default_factory=dict)


def meter_readings(*, first: date, last: date, every: str = DAY, at: time = time(0),
                   property_id: int | None = None, billing_point_id: int | None = None,
                   meter_ids: Iterable[int] = (), measurements: Iterable[str] = (),
                   tolerance: timedelta = DEFAULT_TOLERANCE,
                   times: Sequence[datetime] = ()) -> MeterReadingReport:
    """The register (and ``measurements``) of every selected meter at each point of the
    schedule over the local days [first, last]. Meters are those with an assignment at the
    property / billing point / among ``meter_ids`` (all given filters apply) overlapping
    the period; their values are the registers at those places. ``every=list`` reads at
    the naive local ``times`` (wall-clock times in each meter's property zone) instead."""
    if every == LIST:
        if not times:
            raise ValidationError({"times": ["Name at least one local time."]})
        first, last = min(times).date(), max(times).date()
    quantities = tuple(dict.fromkeys(measurements))
    assignments = _selection(property_id, billing_point_id, list(meter_ids))
    # a window wide enough for every zone; meters outside the local period are dropped below
    window = (datetime.combine(first - timedelta(days=1), time(0), tzinfo=UTC),
              datetime.combine(last + timedelta(days=2), time(0), tzinfo=UTC))
    placed = _placed(assignments, *window)
    points: dict[int, list[TimePoint]] = {}
    for meter_id, p in list(placed.items()):
        pts = time_points(p.zone, first, last, every, at, times)
        if pts and any(c <= pts[-1].at and (r is None or r >= pts[0].at) for c, r, _ in p.spans):
            points[meter_id] = pts
        else:
            del placed[meter_id]
    check_size(len(points), max((len(v) for v in points.values()), default=0))
    # engine and dict keys in UTC: two aware datetimes of the same ZoneInfo compare by wall
    # clock, so 02:00 CEST and 02:00 CET of the autumn day would be one key
    wanted = {m: [p.at.astimezone(UTC) for p in pts] for m, pts in points.items()}
    values = _values(assignments, wanted)
    measured = _measurements(wanted, quantities, tolerance)
    rows = [_row(m, placed, pt, values.get((m, pt.at.astimezone(UTC))), measured, quantities)
            for m, pts in points.items() for pt in pts]
    rows.sort(key=lambda r: (r.property.name if r.property else "", r.meter.name,
                             r.point.at.timestamp()))
    return MeterReadingReport(first, last, every, at, quantities, tolerance, rows)


def _selection(property_id, billing_point_id, meter_ids):
    qs = MeterAssignment.objects.all()
    if property_id is not None:
        qs = qs.filter(billing_point__property_id=property_id)
    if billing_point_id is not None:
        qs = qs.filter(billing_point_id=billing_point_id)
    if meter_ids:
        qs = qs.filter(meter_id__in=meter_ids)
    return qs


def _placed(assignments, start: datetime, end: datetime) -> dict[int, _Placed]:
    """One query: the selected meters with an assignment in the window, every selected
    assignment of theirs (for "removed", "replaced by"), and where each is now."""
    in_window = assignments.filter(connected_at__lt=end).exclude(removed_at__lt=start)
    rows = (assignments.filter(meter_id__in=in_window.values("meter_id"))
            .order_by("meter_id", "connected_at")
            .values_list("meter_id", "meter__public_id", "meter__serial_number", "meter__unit",
                         "billing_point_id", "billing_point__public_id", "billing_point__name",
                         "billing_point__property__public_id", "billing_point__property__name",
                         "billing_point__property__time_zone", "connected_at", "removed_at"))
    placed: dict[int, _Placed] = {}
    for (meter_id, m_id, serial, unit, bp_pk, bp_id, bp_name, p_id, p_name, tz, connected,
         removed) in rows:
        p = placed.get(meter_id)
        bp = Ref(str(bp_id), bp_name)
        if p is None or connected < end:  # the latest placement starting before the window end
            spans, places = (p.spans, p.places) if p else ([], {})
            p = placed[meter_id] = _Placed(Ref(str(m_id), serial), unit, bp,
                                           Ref(str(p_id), p_name), ZoneInfo(str(tz)), spans,
                                           places)
        p.spans.append((connected, removed, bp_pk))
        p.places[bp_pk] = bp
    return placed


def _values(assignments, wanted: dict[int, list[datetime]]) -> dict:
    """(meter id, instant) → (billing point id, BoundaryValue | None, Boundary); at a move
    instant the placement that begins there wins."""
    out: dict = {}
    for segment, boundary, value in register_values(assignments, wanted):
        key = (segment.meter.id, segment.start)
        if key not in out or segment.assignment.connected_at > out[key][3]:
            out[key] = (segment.assignment.billing_point_id, value, boundary,
                        segment.assignment.connected_at)
    return out


def _measurements(wanted: dict[int, list[datetime]], quantities: tuple[str, ...],
                  tolerance: timedelta) -> dict:
    """(meter id, quantity, instant) → (value, measured_at): the latest raw measurement in
    [instant − tolerance, instant], all points in one query."""
    if not quantities or not wanted:
        return {}
    series = {s: (m, q) for s, m, q in MeasurementSeries.objects.filter(
        meter_id__in=id_array(list(wanted)), quantity__in=quantities
    ).values_list("id", "meter_id", "quantity")}
    pairs = [(s, at) for s, (m, _) in series.items() for at in wanted[m]]
    if not pairs:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.s, b.t, m.measured_at, m.value
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS b(s, t)
            JOIN LATERAL (SELECT measured_at, value FROM readings_measurement x
                WHERE x.series_id = b.s AND x.measured_at <= b.t AND x.measured_at >= b.t - %s
                ORDER BY x.measured_at DESC LIMIT 1) m ON true
            """,
            [[s for s, _ in pairs], [t for _, t in pairs], tolerance],
        )
        return {(*series[s], t): (v, mat) for s, t, mat, v in cursor.fetchall()}


def _row(meter_id: int, placed: dict[int, _Placed], point: TimePoint, found, measured: dict,
         quantities) -> MeterReadingRow:
    p, utc_at = placed[meter_id], point.at.astimezone(UTC)
    row = MeterReadingRow(p.meter, p.billing_point, p.property, point, p.unit, None, "",
                          point.note)
    row.measurements = {q: MeasuredValue(*measured.get((meter_id, q, utc_at), (None, None)),
                                         UNITS[q]) for q in quantities}
    if found is None:
        row.billing_point = None
        _why_empty(row, p, point.at, placed)
        return row
    bp_pk, value, boundary, _ = found
    row.billing_point = p.places.get(bp_pk, p.billing_point)
    if value is None:
        last = boundary.prev
        _note(row, "no reading after " + (f"the last one ({_local(last.at, p.zone)})" if last
                                           else "the connection"))
        return row
    row.value = value.value
    row.sources = [(s.at, s.value) for s in value.sources]
    exact = any(s.at == utc_at for s in value.sources)
    if any(s.at in boundary.estimated_reads for s in value.sources):
        row.basis = ESTIMATED
    else:
        row.basis = READ if exact else INTERPOLATED
    if row.basis == INTERPOLATED and len(value.sources) == 2:
        a, b = value.sources
        _note(row, f"between {_local(a.at, p.zone)} and {_local(b.at, p.zone)}")
    return row


def _why_empty(row: MeterReadingRow, p: _Placed, at: datetime, placed) -> None:
    """Before the first connection, or after a removal (and by whom it was replaced)."""
    if at < p.spans[0][0]:
        _note(row, f"before the meter was connected ({_local(p.spans[0][0], p.zone)})")
        return
    removed = max((s for s in p.spans if s[1] is not None and s[1] <= at), key=lambda s: s[1])
    successor = next((q.meter.name for q in placed.values() if q is not p and any(
        c == removed[1] and bp == removed[2] for c, _, bp in q.spans)), None)
    text = f"meter removed {_local(removed[1], p.zone)}"
    _note(row, text + (f", replaced by {successor}" if successor else ""))


def _note(row: MeterReadingRow, text: str) -> None:
    row.note = f"{row.note} {text[0].upper()}{text[1:]}.".strip() if row.note else (
        f"{text[0].upper()}{text[1:]}.")


def _local(instant: datetime, zone: tzinfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
