"""Read queries of readings: lists, the previous reading, and consumption.

Consumption over [start, end) is computed per assignment *segment* (a meter at a billing
point over part of the period) as the difference of the meter's unwrapped register
``total`` at the segment's two boundaries, times the meter's multiplier:

* at a boundary the total is interpolated linearly in time between the stored readings
  just before and just after it (rollovers are already unwrapped in ``total``);
* a segment that starts at the meter's connection starts from the assignment's
  ``initial_reading``, one that ends at its removal ends at its ``final_reading``, so a
  replaced meter's old and new segments add up;
* a boundary after the last reading of an open assignment is **estimated** from the
  meter's recent daily use (kept by ingestion in ``MeterReadingState``) and flagged;
  with no history to estimate from the result is flagged ``missing`` with no quantity
  rather than a silent zero.

Set-based: for any number of meters, one query for meters, one for assignments, one for
the states, and one (rarely two) for the readings around every boundary at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from meters.models import MeterAssignment
from readings.models import MeterReadingState
from readings.registers import DAY_SECONDS, Point, advance, metered

#: First look for boundary readings this close (few partitions), then without limit.
NEAR = timedelta(days=45)
QUANTUM = Decimal("0.0001")
#: A boundary value interpolated between readings counts as read when a reading lies this
#: close to the boundary (15-minute and hourly data, a reading a few minutes off midnight);
#: further away it is an interpolation and the consumption is flagged like an estimate.
READ_TOLERANCE = timedelta(hours=1)

READ, INTERPOLATED, ESTIMATED = "read", "interpolated", "estimated"


def complete_until(last_read_at: datetime | None, tz: tzinfo) -> date | None:
    """The last complete local day of a meter whose latest reading is ``last_read_at``."""
    if last_read_at is None:
        return None
    return last_read_at.astimezone(tz).date() - timedelta(days=1)


@dataclass
class BoundaryValue:
    """The register value a consumption used at one of its boundaries, and how it was had:
    ``read`` (a reading at, or within ``READ_TOLERANCE`` of, the boundary, or the
    assignment's initial/final value), ``interpolated`` (between two readings further
    away), ``estimated`` (after the last reading, from recent daily use). ``sources`` are
    the readings (or the assignment's initial/final value) it came from."""

    at: datetime
    total: Decimal  # the unwrapped register (what consumption subtracts)
    value: Decimal  # the register as it reads (wrapped at the register's digits)
    basis: str
    sources: list[Point] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.basis != READ


@dataclass
class Consumption:
    """What one meter (or one billing point's meters of one type) used over a period."""

    start: datetime
    end: datetime
    quantity: Decimal | None = Decimal(0)
    unit: str = ""
    #: a boundary after the last reading was estimated from recent daily use
    estimated: bool = False
    missing: bool = False
    notes: list[str] = field(default_factory=list)
    #: a boundary value was not read: interpolated between readings far from it, on a
    #: reading of quality "estimated", or extrapolated (see :class:`BoundaryValue`)
    interpolated: bool = False
    #: for one meter segment: the values at its two boundaries
    first: BoundaryValue | None = None
    last: BoundaryValue | None = None
    #: the meter segments summed into this (``meter_consumption``), each with its boundaries
    parts: list[Consumption] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        """What invoices and the API call *estimated*: the start or the end value was
        interpolated or estimated rather than read."""
        return self.estimated or self.interpolated

    def add(self, other: Consumption) -> None:
        self.estimated |= other.estimated
        self.interpolated |= other.interpolated
        self.missing |= other.missing
        self.notes.extend(other.notes)
        if self.quantity is None or other.quantity is None:
            self.quantity = None
        else:
            self.quantity += other.quantity


@dataclass(slots=True)
class MeterRow:
    """The fields of a meter consumption needs (10,000 model instances would cost seconds)."""

    id: int
    serial_number: str
    unit: str
    type: str
    multiplier: Decimal
    register_digits: int


@dataclass(slots=True)
class AssignmentRow:
    pk: int
    billing_point_id: int
    connected_at: datetime
    removed_at: datetime | None
    initial_reading: Decimal
    final_reading: Decimal | None


ASSIGNMENT_FIELDS = (
    "pk", "billing_point_id", "connected_at", "removed_at", "initial_reading", "final_reading",
    "meter_id", "meter__serial_number", "meter__unit", "meter__type", "meter__multiplier",
    "meter__register_digits",
)  # fmt: skip


@dataclass(slots=True)
class Segment:
    meter: MeterRow
    assignment: AssignmentRow
    start: datetime
    end: datetime


@dataclass
class Boundary:
    meter_id: int
    at: datetime
    lo: datetime
    hi: datetime | None
    prev: Point | None = None
    next: Point | None = None
    #: instants of the readings found here whose quality is "estimated"
    estimated_reads: set = field(default_factory=set)


def id_array(ids: list[int]) -> RawSQL:
    """``IN`` ten thousand ids as one array parameter: Django compiles a placeholder per
    element (about 0.1 s for 10,000), PostgreSQL plans a long ``IN`` list slowly too."""
    return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))




# --- segments and boundaries ----------------------------------------------------------------


def segment_consumption(
    assignments: QuerySet[MeterAssignment],
    start: datetime,
    end: datetime,
    periods=None,
    *,
    estimate: bool = True,
    boundaries: dict | None = None,
):
    """(segment, consumption) for every assignment overlapping [start, end), cut by periods.

    ``periods`` (consecutive [start, end) pairs, default the whole range) share their
    boundaries, so a year of months costs the same few queries as one month. With
    ``estimate=False`` a boundary after the last reading is ``missing`` instead of
    estimated (the rollups store complete days only and skip the states query).
    ``boundaries``, if given, receives the segments' boundaries with the readings found
    around them (the invoicing engine traces each line to them without a second lookup).
    """
    periods = periods or [(start, end)]
    rows = (
        assignments.filter(connected_at__lt=end)
        .exclude(removed_at__lte=start)
        .order_by("meter_id", "connected_at")
        .values_list(*ASSIGNMENT_FIELDS)
    )
    meters: dict[int, MeterRow] = {}
    segments = []
    for row in rows:
        a = AssignmentRow(*row[:6])
        meter = meters.get(row[6]) or meters.setdefault(row[6], MeterRow(*row[6:]))
        segments.extend(
            Segment(meter, a, max(p_start, a.connected_at), min(p_end, a.removed_at or p_end))
            for p_start, p_end in periods
            if a.connected_at < p_end and (a.removed_at is None or a.removed_at > p_start)
        )
    if not segments:
        return []
    found = _boundaries(segments)
    find_neighbours(found)
    if boundaries is not None:  # the caller also wants the readings around each boundary
        boundaries.update(found)
    daily = _daily_use({s.meter.id for s in segments}) if estimate else {}
    return [(s, _consume(s, found, daily)) for s in segments]


def _boundaries(segments: list[Segment]) -> dict[tuple[int, datetime], Boundary]:
    found: dict[tuple[int, datetime], Boundary] = {}
    for s in segments:
        for at in (s.start, s.end):
            a = s.assignment
            found.setdefault((a.pk, at), Boundary(s.meter.id, at, a.connected_at, a.removed_at))
    return found


def find_neighbours(boundaries: dict[tuple[int, datetime], Boundary]) -> None:
    """Readings just before/after every boundary inside its assignment: near first, then all."""
    items = list(boundaries.values())
    _lookup(items, near=True)
    far = [
        b
        for b in items
        if (b.prev is None and b.at - NEAR > b.lo)
        or (b.next is None and (b.hi is None or b.at + NEAR < b.hi))
    ]
    if far:
        _lookup(far, near=False)


def _lookup(items: list[Boundary], *, near: bool) -> None:
    """Instants travel as epoch seconds: adapting 60,000 datetimes costs more than the query."""
    lo = [max(b.lo, b.at - NEAR) if near else b.lo for b in items]
    hi = [(min(b.hi, b.at + NEAR) if b.hi else b.at + NEAR) if near else b.hi for b in items]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.i, p.read_at, p.value, p.total, n.read_at, n.value, n.total,
                   p.quality = 'estimated', n.quality = 'estimated'
            FROM (SELECT i, meter_id, to_timestamp(t) AS t, to_timestamp(lo) AS lo,
                         to_timestamp(hi) AS hi
                  FROM unnest(%s::int[], %s::bigint[], %s::float8[], %s::float8[], %s::float8[])
                    AS u(i, meter_id, t, lo, hi)) b
            LEFT JOIN LATERAL (SELECT read_at, value, total, quality FROM readings_reading r
                WHERE r.meter_id = b.meter_id AND r.read_at <= b.t AND r.read_at >= b.lo
                ORDER BY r.read_at DESC LIMIT 1) p ON true
            LEFT JOIN LATERAL (SELECT read_at, value, total, quality FROM readings_reading r
                WHERE r.meter_id = b.meter_id AND r.read_at >= b.t
                  AND (b.hi IS NULL OR r.read_at <= b.hi)
                ORDER BY r.read_at LIMIT 1) n ON true
            """,
            [
                list(range(len(items))),
                [b.meter_id for b in items],
                [b.at.timestamp() for b in items],
                [t.timestamp() for t in lo],
                [t.timestamp() if t else None for t in hi],
            ],
        )
        for i, pa, pv, pt, na, nv, nt, p_est, n_est in cursor.fetchall():
            if pa is not None:
                items[i].prev = Point(pa, pv, pt)
                if p_est:
                    items[i].estimated_reads.add(pa)
            if na is not None:
                items[i].next = Point(na, nv, nt)
                if n_est:
                    items[i].estimated_reads.add(na)


def _daily_use(meter_ids: set[int]) -> dict[int, Decimal | None]:
    states = MeterReadingState.objects.filter(
        meter_id__in=id_array(list(meter_ids)), window_days__gt=0
    )
    rows = states.values_list("meter_id", "window_use", "window_days")
    return {meter_id: use / days for meter_id, use, days in rows}


# --- arithmetic ------------------------------------------------------------------------------


def _consume(s: Segment, boundaries, daily: dict[int, Decimal | None]) -> Consumption:
    result = Consumption(s.start, s.end, unit=s.meter.unit)
    first = _total_at(s, boundaries[(s.assignment.pk, s.start)], daily, result)
    last = _total_at(s, boundaries[(s.assignment.pk, s.end)], daily, result)
    if first is None or last is None:
        result.quantity, result.missing = None, True
        result.notes.append(f"{s.meter.serial_number}: no readings to measure or estimate from.")
        return result
    result.first, result.last = first, last
    # not read: interpolated far from a reading, or on a reading of quality "estimated"
    # (extrapolation after the last reading already set ``estimated``)
    result.interpolated = first.flagged or last.flagged
    # the boundary values are kept to 4 places, so end − start × multiplier is the quantity
    result.quantity = metered(first.total, last.total, s.meter.multiplier).quantize(QUANTUM)
    return result


def _total_at(s: Segment, b: Boundary, daily, result: Consumption) -> BoundaryValue | None:
    total, sources = _raw_total_at(s, b, daily, result)
    if total is None:
        return None
    total = total.quantize(QUANTUM)
    ref = sources[0]
    cap = Decimal(10) ** s.meter.register_digits
    value = (ref.value + (total - ref.total)) % cap if ref.total is not None else total
    exact = [p for p in sources if abs(p.at - b.at) <= READ_TOLERANCE]
    extrapolated = len(sources) == 1 and sources[0].at != b.at
    if extrapolated or any(p.at in b.estimated_reads for p in sources):  # or a stored estimate
        basis = ESTIMATED
    elif exact:
        basis = READ
    else:
        basis = INTERPOLATED
    return BoundaryValue(b.at, total, value.quantize(QUANTUM), basis, sources)


def _raw_total_at(s: Segment, b: Boundary, daily, result: Consumption):
    """The unwrapped register at the boundary (using the assignment's initial/final values)
    and the points it came from."""
    a, cap = s.assignment, Decimal(10) ** s.meter.register_digits
    prev, nxt = b.prev, b.next
    if prev is None and nxt is not None:  # before the first reading: start at the initial value
        prev = Point(
            a.connected_at,
            a.initial_reading,
            nxt.total - advance(a.initial_reading, nxt.value, cap)[0],
        )
    if (
        nxt is None
        and prev is not None
        and a.removed_at is not None
        and a.final_reading is not None
    ):
        nxt = Point(
            a.removed_at, a.final_reading, prev.total + advance(prev.value, a.final_reading, cap)[0]
        )
    if prev is None and nxt is None:
        prev = Point(a.connected_at, a.initial_reading, a.initial_reading)
        if a.removed_at is not None and a.final_reading is not None:
            nxt = Point(
                a.removed_at,
                a.final_reading,
                a.initial_reading + advance(a.initial_reading, a.final_reading, cap)[0],
            )
    total = _interpolate(s, b.at, prev, nxt, daily, result)
    if prev.at == b.at:
        return total, [prev]
    if nxt is not None and nxt.at == b.at:
        return total, [nxt]
    return total, [prev] if nxt is None else [prev, nxt]


def _interpolate(
    s: Segment, at: datetime, prev: Point, nxt: Point | None, daily, result
) -> Decimal | None:
    if prev.at == at:
        return prev.total
    if nxt is not None:
        if nxt.at == at:
            return nxt.total
        share = Decimal((at - prev.at).total_seconds()) / Decimal(
            (nxt.at - prev.at).total_seconds()
        )
        return prev.total + (nxt.total - prev.total) * share
    use = daily.get(s.meter.id)
    if use is None:
        return None
    result.estimated = True
    result.notes.append(
        f"{s.meter.serial_number}: estimated after {prev.at:%Y-%m-%d %H:%M} UTC from "
        f"{use.quantize(Decimal('0.01'))} a day."
    )
    return prev.total + use * Decimal((at - prev.at).total_seconds()) / DAY_SECONDS


# --- register values at instants (monitoring's scheduled meter reading) ---------------------


def register_values(
    assignments: QuerySet[MeterAssignment], wanted: dict[int, list[datetime]]
) -> list[tuple[Segment, Boundary, BoundaryValue | None]]:
    """The register of each meter at each of its ``wanted`` instants, computed exactly as a
    consumption boundary is (same neighbours, same interpolation, the assignment's initial
    and final values at connection and removal), so a scheduled reading at 00:00 equals the
    start value an invoice for that day would use. No estimation after the last reading:
    such a value is ``None``. An instant outside every assignment of its meter gets no
    entry (``connected_at <= at <= removed_at`` is covered; at a replacement instant both
    meters have one). Set-based: one assignments query and one (rarely two) for readings.
    """
    instants = [at for ats in wanted.values() for at in ats]
    if not instants:
        return []
    first, last = min(instants), max(instants)
    rows = (
        assignments.filter(meter_id__in=id_array(list(wanted)), connected_at__lte=last)
        .exclude(removed_at__lt=first)
        .order_by("meter_id", "connected_at")
        .values_list(*ASSIGNMENT_FIELDS)
    )
    meters: dict[int, MeterRow] = {}
    segments: list[Segment] = []
    for row in rows:
        a = AssignmentRow(*row[:6])
        meter = meters.get(row[6]) or meters.setdefault(row[6], MeterRow(*row[6:]))
        segments.extend(
            Segment(meter, a, at, at)
            for at in wanted[meter.id]
            if a.connected_at <= at and (a.removed_at is None or at <= a.removed_at)
        )
    found = {
        (s.assignment.pk, s.start): Boundary(
            s.meter.id, s.start, s.assignment.connected_at, s.assignment.removed_at
        )
        for s in segments
    }
    find_neighbours(found)
    out = []
    for s in segments:
        b = found[(s.assignment.pk, s.start)]
        out.append((s, b, _total_at(s, b, {}, Consumption(s.start, s.end, unit=s.meter.unit))))
    return out
