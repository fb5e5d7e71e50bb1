"""The ingestion engine behind ``readings.services.reading_ingest``: one set of rules, set-based.

A batch is handled in chunks of ten thousand rows. Per chunk, whatever its size: one
query resolves new meters and their assignments (cached for the whole batch), one locks
the state rows of meters not seen yet in the batch, one finds rows already stored at the
same instants and one their neighbours (only for back-filled rows), one COPY writes the
new rows and one UPDATE applies replacements. The state rows are written back once, at
the end of the batch.
Python only walks the rows of each meter in time order to apply the rules.

Rules (issue 4, item 3), each producing a row error naming the field:
unknown meter · meter not active at the instant (or before its connection) · value not a
number, NaN, negative, beyond the register's digits · timestamp in the future · lower
than the previous reading unless a plausible rollover (or an explicit ``replace``) ·
higher than the following reading (back-fill) · same meter and instant: same value is a
no-op, another value a conflict unless ``replace`` (the old value is kept in
``ReadingRevision``) · a jump above 10× the meter's typical use is accepted and flagged.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.db import connection

from billspree.core.timefmt import api_instant
from readings.models import Quality, ReadingAnomaly, ReadingRevision, Upload
from readings.parsing import RowIn, parse_instant, parse_local_instant, parse_value
from readings.partitions import partitions_ensure_for

#: A drop in the register is a rollover only if the implied use is under this share of
#: the register's range (a 5-digit register going 99,950 → 30 used 80, plausible; going
#: 50,000 → 100 would mean 50,100 units, i.e. a misread).
ROLLOVER_SHARE = Decimal("0.1")
#: A delta above this many times the meter's typical use for the interval is an anomaly.
ANOMALY_FACTOR = Decimal(10)
#: Typical daily use is averaged over about this many days of recent readings.
WINDOW_DAYS = 30.0
#: Meter clocks drift; a reading this far ahead of our clock is still accepted.
FUTURE_TOLERANCE = timedelta(minutes=5)
DAY_SECONDS = Decimal(86400)


@dataclass(slots=True)
class RowResult:
    line: int
    meter_number: str
    read_at: datetime | None = None
    value: Decimal | None = None
    quality: str = Quality.ACTUAL
    status: str = "pending"  # created, unchanged, replaced, rejected
    errors: list[tuple[str, str]] = field(default_factory=list)
    anomaly: str = ""
    meter_id: int | None = None
    quality_given: bool = False
    #: set by ``reading_enter``: what the reading changed in billing (None elsewhere)
    impacts: list | None = None

    def reject(self, column: str, reason: str) -> None:
        self.status = "rejected"
        self.errors.append((column, reason))

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "meterNumber": self.meter_number,
            "readAt": api_instant(self.read_at),
            "value": str(self.value) if self.value is not None else None,
            "status": self.status,
            "anomaly": self.anomaly or None,
            "errors": [{"field": f, "message": m} for f, m in self.errors],
        }


@dataclass(slots=True)
class MeterInfo:
    id: int
    serial: str
    cap: Decimal
    digits: int
    tz: tzinfo
    assignments: list[tuple[datetime, datetime | None, Decimal]]  # sorted by connected_at


@dataclass(slots=True)
class Point:
    """A known register position: a reading, or an assignment's initial value (total None)."""

    at: datetime
    value: Decimal
    total: Decimal | None


@dataclass(slots=True)
class State:
    """A meter's latest reading and its ~30-day window of use (floats: it is a statistic)."""

    meter_id: int
    last: Point | None
    window_days: float
    window_use: float
    dirty: bool = False

    @property
    def daily_use(self) -> float | None:
        return self.window_use / self.window_days if self.window_days >= 1 else None


@dataclass
class Batch:
    """What one ingestion call needs across its chunks."""

    organization_id: int
    source: str
    upload: Upload | None
    replace: bool
    now: datetime
    default_tz: tzinfo
    meters: dict[str, MeterInfo | None] = field(default_factory=dict)
    #: Locked once per batch and saved once at its end: a million-row file touches each
    #: meter's state row twice, not once per chunk.
    states: dict[int, State] = field(default_factory=dict)
    #: Per meter, the earliest and latest instant written (created or replaced) and its
    #: latest reading when the batch began: what the consumption rollups must recompute.
    touched: dict[int, list[datetime]] = field(default_factory=dict)
    before: dict[int, datetime | None] = field(default_factory=dict)


def advance(prev: Decimal, value: Decimal, cap: Decimal) -> tuple[Decimal, str]:
    """Register advance from ``prev`` to ``value``: (delta, "normal" | "rollover" | "drop")."""
    delta = value - prev
    if delta >= 0:
        return delta, "normal"
    rolled = value + cap - prev
    if rolled <= cap * ROLLOVER_SHARE:
        return rolled, "rollover"
    return delta, "drop"


# --- resolving meters -------------------------------------------------------------------


_METERS_SQL = """
SELECT m.serial_number, m.id, m.register_digits,
       a.connected_at, a.removed_at, a.initial_reading, p.time_zone
FROM meters_meter m
LEFT JOIN meters_meterassignment a ON a.meter_id = m.id
LEFT JOIN meters_billingpoint b ON b.id = a.billing_point_id
LEFT JOIN meters_property p ON p.id = b.property_id
WHERE m.organization_id = %s AND m.serial_number = ANY(%s)
ORDER BY m.id, a.connected_at
"""


def load_meters(batch: Batch, serials: Iterable[str]) -> None:
    """Resolve new serial numbers and their assignments in one query.

    Raw SQL with an array parameter: an ``IN`` list of 10,000 serials costs more to plan
    than to run. Raw SQL bypasses the scoped manager, so it names the batch's
    organization itself (the batch was built from the organization in context).
    """
    wanted = {s for s in serials if s and s not in batch.meters and NUL not in s}
    if not wanted:
        return
    found: dict[str, tuple[int, int, list[tuple]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_METERS_SQL, [batch.organization_id, list(wanted)])
        for serial, meter_id, digits, connected, removed, initial, tz in cursor.fetchall():
            meter = found.setdefault(serial, (meter_id, digits, []))
            if connected is not None:
                meter[2].append((connected, removed, initial, tz))
    for serial in wanted:
        meter = found.get(serial)
        batch.meters[serial] = None if meter is None else _meter_info(batch, serial, *meter)


def _meter_info(
    batch: Batch, serial: str, meter_id: int, digits: int, assignments: list[tuple]
) -> MeterInfo:
    tz = _zone(assignments[-1][3]) if assignments else batch.default_tz
    return MeterInfo(
        id=meter_id,
        serial=serial,
        cap=_capacity(digits),
        digits=digits,
        tz=tz,
        assignments=[(a[0], a[1], a[2]) for a in assignments],
    )


@lru_cache(maxsize=64)
def _capacity(digits: int) -> Decimal:
    return Decimal(10) ** digits


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(str(name))


# --- row-level rules ----------------------------------------------------------------------


NUL = "\x00"
_NUL_COLUMNS = (("meterNumber", "meter_number"), ("readAt", "read_at"), ("value", "value"),
                ("quality", "quality"))


def _nul_row(row: RowIn, serial: str) -> RowResult | None:
    """A row with a NUL character in a cell, rejected naming the cell: PostgreSQL cannot
    store NUL in text (the import would crash), and no meter number or date contains one.
    The meter number is echoed with NUL shown as U+2400 (the report and page store it)."""
    bad = [col for col, attr in _NUL_COLUMNS
           if isinstance(getattr(row, attr), str) and NUL in getattr(row, attr)]
    if not bad:
        return None
    result = RowResult(line=row.line, meter_number=serial.replace(NUL, "\u2400"))
    for column in bad:
        result.reject(column, "Contains a NUL character (\\x00); remove it from the cell.")
    return result


def check_row(batch: Batch, row: RowIn) -> RowResult:
    """Every rule that needs only the row and its meter; fills ``read_at``/``value``."""
    serial = str(row.meter_number or "").strip()
    if (nul := _nul_row(row, serial)) is not None:
        return nul
    result = RowResult(line=row.line, meter_number=serial)
    meter = batch.meters.get(serial) if serial else None
    if not serial:
        result.reject("meterNumber", "A meter number is required.")
    elif meter is None:
        result.reject("meterNumber", f"No meter with number {serial!r} in this organization.")
    value, why = parse_value(row.value)
    if why:
        result.reject("value", why)
    elif meter is not None and value >= meter.cap:
        result.reject("value", f"{value} does not fit the meter's {meter.digits}-digit register.")
    result.value = value
    # a CSV file may use the property's local date forms; the API and the rest stay ISO
    parse = parse_local_instant if batch.source == "upload" else parse_instant
    instant, why = parse(row.read_at, meter.tz if meter else batch.default_tz)
    if why:
        result.reject("readAt", why)
    result.read_at = instant
    _check_quality(batch, row, result)
    if instant is not None:
        _check_instant(batch, meter, instant, result)
    if meter is not None:
        result.meter_id = meter.id
    return result


def _check_quality(batch: Batch, row: RowIn, result: RowResult) -> None:
    raw = str(row.quality).strip().lower() if row.quality not in (None, "") else ""
    if not raw:
        result.quality = Quality.ESTIMATED if batch.source == "estimate" else Quality.ACTUAL
    elif raw in Quality.values:
        result.quality, result.quality_given = raw, True
    else:
        result.reject(
            "quality", f"Unknown quality {raw!r}; use one of {', '.join(Quality.values)}."
        )


def _check_instant(
    batch: Batch, meter: MeterInfo | None, instant: datetime, result: RowResult
) -> None:
    if instant > batch.now + FUTURE_TOLERANCE:
        result.reject("readAt", f"{instant:%Y-%m-%d %H:%M} UTC is in the future.")
        return
    if meter is None:
        return
    if not meter.assignments:
        result.reject(
            "meterNumber",
            f"Meter {meter.serial} is not installed at any billing point; assign it first.",
        )
        return
    first_connected = meter.assignments[0][0]
    if instant < first_connected:
        local = first_connected.astimezone(meter.tz)
        result.reject(
            "readAt", f"Before the meter was connected ({local:%Y-%m-%d %H:%M} {meter.tz})."
        )
        return
    if _assignment_at(meter, instant) is None:
        result.reject("readAt", "The meter was not installed at a billing point at this instant.")


def _assignment_at(
    meter: MeterInfo, instant: datetime
) -> tuple[datetime, datetime | None, Decimal] | None:
    """The assignment covering the instant; its removal instant counts (the final reading)."""
    for connected, removed, initial in reversed(meter.assignments):
        if connected <= instant and (removed is None or instant <= removed):
            return connected, removed, initial
    return None


# --- SQL --------------------------------------------------------------------------------------


def lock_states(organization_id: int, meter_ids: list[int]) -> dict[int, State]:
    """Create missing state rows, then lock all of them in meter order (no deadlocks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO readings_meterreadingstate
                (meter_id, organization_id, window_days, window_use, updated_at)
            SELECT m, %s, 0, 0, now() FROM unnest(%s::bigint[]) AS m ORDER BY m
            ON CONFLICT (meter_id) DO NOTHING
            """,
            [organization_id, meter_ids],
        )
        cursor.execute(
            """
            SELECT meter_id, last_read_at, last_value, last_total, window_days, window_use
            FROM readings_meterreadingstate WHERE meter_id = ANY(%s::bigint[])
            ORDER BY meter_id FOR UPDATE
            """,
            [meter_ids],
        )
        states = {}
        for meter_id, at, value, total, days, use in cursor.fetchall():
            last = Point(at, value, total) if at is not None else None
            states[meter_id] = State(meter_id, last, float(days), float(use))
    return states


@dataclass(slots=True)
class Stored:
    value: Decimal
    total: Decimal
    source: str
    quality: str
    upload_id: int | None


def stored_at(pairs: list[tuple[int, datetime]]) -> dict[tuple[int, datetime], Stored]:
    """Rows already stored at exactly these (meter, instant) pairs."""
    if not pairs:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT r.meter_id, r.read_at, r.value, r.total, r.source, r.quality, r.upload_id
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS b(meter_id, read_at)
            JOIN readings_reading r ON r.meter_id = b.meter_id AND r.read_at = b.read_at
            """,
            [[p[0] for p in pairs], [p[1] for p in pairs]],
        )
        return {(m, t): Stored(v, tot, s, q, u) for m, t, v, tot, s, q, u in cursor.fetchall()}


def neighbours(
    pairs: list[tuple[int, datetime]],
) -> dict[tuple[int, datetime], tuple[Point | None, Point | None]]:
    """For back-filled rows: the stored reading just before and just after each instant."""
    if not pairs:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.meter_id, b.read_at, p.read_at, p.value, p.total, n.read_at, n.value, n.total
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS b(meter_id, read_at)
            LEFT JOIN LATERAL (
                SELECT read_at, value, total FROM readings_reading r
                WHERE r.meter_id = b.meter_id AND r.read_at < b.read_at
                ORDER BY r.read_at DESC LIMIT 1) p ON true
            LEFT JOIN LATERAL (
                SELECT read_at, value, total FROM readings_reading r
                WHERE r.meter_id = b.meter_id AND r.read_at > b.read_at
                ORDER BY r.read_at LIMIT 1) n ON true
            """,
            [[p[0] for p in pairs], [p[1] for p in pairs]],
        )
        out = {}
        for m, t, pa, pv, pt, na, nv, nt in cursor.fetchall():
            out[(m, t)] = (Point(pa, pv, pt) if pa else None, Point(na, nv, nt) if na else None)
        return out


COPY_COLUMNS = (
    "organization_id, meter_id, read_at, value, total, source, quality, upload_id, is_anomaly, "
    "created_at"
)


def copy_readings(rows: list[tuple]) -> None:
    """Write new rows with COPY (the fastest way into PostgreSQL); rows match COPY_COLUMNS."""
    if not rows:
        return
    partitions_ensure_for(r[2] for r in rows)
    stamps = {r[9]: r[9].isoformat() for r in rows[:1]}
    buffer = io.StringIO()
    buffer.writelines(
        f"{r[0]}\t{r[1]}\t{r[2].isoformat()}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6]}\t"
        f"{'' if r[7] is None else r[7]}\t{'t' if r[8] else 'f'}\t"
        f"{stamps.get(r[9]) or r[9].isoformat()}\n"
        for r in rows
    )
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY readings_reading ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT text, NULL '')", buffer
        )


def update_readings(rows: list[tuple]) -> None:
    """Apply replacements; rows are (meter_id, read_at, value, total, quality, source,
    upload_id, is_anomaly)."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE readings_reading r SET value = u.value, total = u.total, quality = u.quality,
                source = u.source, upload_id = u.upload_id, is_anomaly = u.is_anomaly
            FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[], %s::numeric[], %s::text[],
                        %s::text[], %s::bigint[], %s::boolean[])
                AS u(meter_id, read_at, value, total, quality, source, upload_id, is_anomaly)
            WHERE r.meter_id = u.meter_id AND r.read_at = u.read_at
            """,
            [list(c) for c in columns],
        )


def recompute_totals(since: dict[int, datetime], caps: dict[int, Decimal]) -> None:
    """Rebuild unwrapped totals after replacements, from each meter's earliest change on.

    Totals are a running sum of register advances (with the rollover rule of ``advance``),
    anchored at the last reading before the change. Rare (corrections), so a scan of the
    affected meters' later rows is fine.
    """
    if not since:
        return
    meters = sorted(since)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH a AS (
                SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[])
                    AS a(meter_id, since, cap)
            ), anchor AS (
                SELECT a.meter_id, a.since, a.cap, p.value, p.total FROM a
                LEFT JOIN LATERAL (SELECT value, total FROM readings_reading r
                    WHERE r.meter_id = a.meter_id AND r.read_at < a.since
                    ORDER BY r.read_at DESC LIMIT 1) p ON true
            ), seq AS (
                SELECT r.meter_id, r.read_at, r.value, an.cap, COALESCE(an.total, 0) AS base,
                    r.value - COALESCE(lag(r.value) OVER w, an.value) AS d
                FROM readings_reading r JOIN anchor an
                    ON r.meter_id = an.meter_id AND r.read_at >= an.since
                WINDOW w AS (PARTITION BY r.meter_id ORDER BY r.read_at)
            ), totals AS (
                SELECT meter_id, read_at, base + sum(
                    CASE WHEN d IS NULL THEN value WHEN d >= 0 THEN d
                         WHEN d + cap <= cap * %s THEN d + cap ELSE d END
                ) OVER (PARTITION BY meter_id ORDER BY read_at) AS total
                FROM seq
            )
            UPDATE readings_reading r SET total = t.total FROM totals t
            WHERE r.meter_id = t.meter_id AND r.read_at = t.read_at AND r.total <> t.total
            """,
            [meters, [since[m] for m in meters], [caps[m] for m in meters], ROLLOVER_SHARE],
        )


def save_states(states: Iterable[State]) -> None:
    """Write back the states a batch changed (one statement), before it commits."""
    changed = [s for s in states if s.dirty and s.last is not None]
    if not changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE readings_meterreadingstate s SET last_read_at = u.at, last_value = u.value,
                last_total = u.total, window_days = u.days, window_use = u.use, updated_at = now()
            FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[], %s::numeric[],
                        %s::numeric[], %s::numeric[]) AS u(meter_id, at, value, total, days, use)
            WHERE s.meter_id = u.meter_id
            """,
            [
                [s.meter_id for s in changed],
                [s.last.at for s in changed],
                [s.last.value for s in changed],
                [s.last.total for s in changed],
                [s.window_days for s in changed],
                [s.window_use for s in changed],
            ],
        )


def refresh_last_totals(states: dict[int, State], meter_ids: Iterable[int]) -> None:
    """After a rebuild of totals, the state's latest total is read back from the table."""
    ids = [m for m in meter_ids if states[m].last is not None]
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT r.meter_id, r.total FROM readings_reading r
            JOIN unnest(%s::bigint[], %s::timestamptz[]) AS b(meter_id, read_at)
              ON r.meter_id = b.meter_id AND r.read_at = b.read_at
            """,
            [ids, [states[m].last.at for m in ids]],
        )
        for meter_id, total in cursor.fetchall():
            states[meter_id].last.total = total
            states[meter_id].dirty = True


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- one chunk ----------------------------------------------------------------------------


@dataclass
class ChunkWrites:
    inserts: list[tuple] = field(default_factory=list)
    updates: list[tuple] = field(default_factory=list)
    revisions: list[ReadingRevision] = field(default_factory=list)
    anomalies: list[ReadingAnomaly] = field(default_factory=list)
    rebuild_since: dict[int, datetime] = field(default_factory=dict)
    #: The last back-filled row accepted per meter in this chunk (not yet in the table).
    backfilled: dict[int, Point] = field(default_factory=dict)


def process_chunk(batch: Batch, rows: list[RowIn]) -> list[RowResult]:
    """Validate and write one chunk; returns a result per row in input order."""
    load_meters(batch, {str(r.meter_number or "").strip() for r in rows})
    results = [check_row(batch, row) for row in rows]
    valid = _dedupe_in_chunk([r for r in results if r.status != "rejected"])
    if not valid:
        return results
    unlocked = sorted({r.meter_id for r in valid} - batch.states.keys())
    if unlocked:
        locked = lock_states(batch.organization_id, unlocked)
        batch.states.update(locked)
        batch.before.update((m, s.last.at if s.last else None) for m, s in locked.items())
    states = batch.states
    older = [(r.meter_id, r.read_at) for r in valid if _is_backfill(states[r.meter_id], r.read_at)]
    stored = stored_at(older)
    near = neighbours([p for p in older if p not in stored or batch.replace])
    writes = ChunkWrites()
    by_serial = {m.id: m for m in batch.meters.values() if m is not None}
    for r in valid:
        _decide(batch, r, by_serial[r.meter_id], states[r.meter_id], stored, near, writes)
    _write(batch, writes, states, by_serial)
    return results


def _is_backfill(state: State, instant: datetime) -> bool:
    return state.last is not None and instant <= state.last.at


def _dedupe_in_chunk(valid: list[RowResult]) -> list[RowResult]:
    """Sort by meter and instant; a repeated (meter, instant) is a no-op or a conflict."""
    valid.sort(key=lambda r: (r.meter_id, r.read_at))
    kept: list[RowResult] = []
    for r in valid:
        if kept and kept[-1].meter_id == r.meter_id and kept[-1].read_at == r.read_at:
            first = kept[-1]
            if first.value == r.value:
                r.status = "unchanged"
            else:
                r.reject(
                    "value",
                    f"Line {first.line} gives {first.value} for the same meter and instant.",
                )
            continue
        kept.append(r)
    return kept


def _decide(
    batch, r: RowResult, meter: MeterInfo, state: State, stored, near, writes: ChunkWrites
) -> None:
    key = (r.meter_id, r.read_at)
    existing = stored.get(key)
    if existing is not None and existing.value == r.value:
        r.status = "unchanged"
        return
    if existing is not None and not batch.replace:
        r.reject(
            "value",
            f"{existing.value} is already recorded for this instant; "
            "send it with replace to correct it.",
        )
        return
    backfill = _is_backfill(state, r.read_at)
    prev, nxt = _backfill_neighbours(r, state, near, writes) if backfill else (state.last, None)
    prev = _with_initial(meter, r.read_at, prev)
    delta = _check_order(batch, r, meter, prev, nxt)
    if r.status == "rejected":
        return
    _flag_jump(r, state, prev, delta)
    total = (prev.total + delta) if prev is not None and prev.total is not None else r.value
    _stage(batch, r, existing, total, writes, prev)
    if backfill:
        writes.backfilled[r.meter_id] = Point(r.read_at, r.value, total)
    _advance_state(state, r, prev, delta, total)


def _backfill_neighbours(r: RowResult, state: State, near, writes: ChunkWrites):
    """Stored neighbours of a back-filled row, or an earlier row of this chunk if closer."""
    prev, nxt = near.get((r.meter_id, r.read_at), (None, None))
    own = writes.backfilled.get(r.meter_id)
    if own is not None and own.at < r.read_at and (prev is None or own.at > prev.at):
        prev = own
    if state.last is not None and r.read_at == state.last.at:
        nxt = None
    return prev, nxt


def _with_initial(meter: MeterInfo, instant: datetime, prev: Point | None) -> Point | None:
    """The assignment's initial register value counts as a previous reading after connection."""
    assignment = _assignment_at(meter, instant)
    if assignment is None:
        return prev
    connected, _, initial = assignment
    if connected < instant and (prev is None or prev.at < connected):
        base_total = (
            None
            if prev is None or prev.total is None
            else prev.total + advance(prev.value, initial, meter.cap)[0]
        )
        return Point(connected, initial, base_total)
    return prev


def _check_order(
    batch, r: RowResult, meter: MeterInfo, prev: Point | None, nxt: Point | None
) -> Decimal:
    delta = Decimal(0)
    if prev is not None:
        delta, kind = advance(prev.value, r.value, meter.cap)
        if kind == "drop":
            reason = f"Lower than the previous reading {prev.value} at {prev.at:%Y-%m-%d %H:%M} UTC"
            if not batch.replace:
                r.reject("value", reason + " and too far from the register's end to be a rollover.")
                return delta
            r.anomaly = reason + "; accepted as a correction."
    if nxt is not None and advance(r.value, nxt.value, meter.cap)[1] == "drop":
        reason = f"Higher than the following reading {nxt.value} at {nxt.at:%Y-%m-%d %H:%M} UTC"
        if not batch.replace:
            r.reject("value", reason + ".")
        else:
            r.anomaly = reason + "; accepted as a correction."
    return delta


def _flag_jump(r: RowResult, state: State, prev: Point | None, delta: Decimal) -> None:
    typical = state.daily_use
    if r.anomaly or prev is None or not typical or typical <= 0 or delta <= 0:
        return
    days = max((r.read_at - prev.at).total_seconds() / 86400, 1.0)
    if float(delta) > float(ANOMALY_FACTOR) * typical * days:
        r.anomaly = (
            f"Used {delta.normalize():f} since {prev.at:%Y-%m-%d %H:%M} UTC; more than "
            f"{ANOMALY_FACTOR}× the typical {typical:.2f} a day."
        )


def _stage(
    batch: Batch,
    r: RowResult,
    existing: Stored | None,
    total: Decimal,
    writes: ChunkWrites,
    prev: Point | None = None,
) -> None:
    upload_id = batch.upload.pk if batch.upload else None
    if existing is None:
        r.status = "created"
        writes.inserts.append(
            (
                batch.organization_id,
                r.meter_id,
                r.read_at,
                r.value,
                total,
                batch.source,
                r.quality,
                upload_id,
                bool(r.anomaly),
                batch.now,
            )
        )
    else:
        r.status = "replaced"
        quality = r.quality if r.quality_given else Quality.CORRECTED
        writes.updates.append(
            (
                r.meter_id,
                r.read_at,
                r.value,
                total,
                quality,
                batch.source,
                upload_id,
                bool(r.anomaly),
            )
        )
        writes.revisions.append(
            ReadingRevision(
                organization_id=batch.organization_id,
                meter_id=r.meter_id,
                read_at=r.read_at,
                old_value=existing.value,
                new_value=r.value,
                old_source=existing.source,
                old_quality=existing.quality,
                upload=batch.upload,
            )
        )
        since = writes.rebuild_since.get(r.meter_id)
        writes.rebuild_since[r.meter_id] = r.read_at if since is None else min(since, r.read_at)
    if r.anomaly:
        writes.anomalies.append(
            ReadingAnomaly(
                organization_id=batch.organization_id,
                meter_id=r.meter_id,
                read_at=r.read_at,
                value=r.value,
                previous_read_at=prev.at if prev else None,
                previous_value=prev.value if prev else None,
                reason=r.anomaly[:300],
                upload=batch.upload,
            )
        )


def _advance_state(
    state: State, r: RowResult, prev: Point | None, delta: Decimal, total: Decimal
) -> None:
    """Move the latest reading forward and fold the interval into the ~30-day window."""
    last = state.last
    if last is not None and r.read_at < last.at:
        return
    if last is not None and r.read_at == last.at:
        state.last = Point(r.read_at, r.value, total)
        state.dirty = True
        return
    if prev is not None and not r.anomaly and delta >= 0:
        days = (r.read_at - prev.at).total_seconds() / 86400
        if state.window_days + days > WINDOW_DAYS and state.window_days > 0:
            keep = max(WINDOW_DAYS - days, 0.0) / state.window_days
            state.window_days *= keep
            state.window_use *= keep
        state.window_days += days
        state.window_use += float(delta)
    state.last = Point(r.read_at, r.value, total)
    state.dirty = True


def _write(
    batch: Batch, writes: ChunkWrites, states: dict[int, State], meters: dict[int, MeterInfo]
) -> None:
    copy_readings(writes.inserts)
    update_readings(writes.updates)
    _touch(batch.touched, [(r[1], r[2]) for r in writes.inserts])
    _touch(batch.touched, [(r[0], r[1]) for r in writes.updates])
    if writes.rebuild_since:
        recompute_totals(writes.rebuild_since, {m: meters[m].cap for m in writes.rebuild_since})
        refresh_last_totals(states, writes.rebuild_since)
    ReadingRevision.objects.bulk_create(writes.revisions, batch_size=1000)
    ReadingAnomaly.objects.bulk_create(writes.anomalies, batch_size=1000)


def _touch(touched: dict[int, list[datetime]], written: list[tuple[int, datetime]]) -> None:
    """Widen each meter's [earliest, latest] written instant (rows are in meter, time order:
    building a dict keeps the last value per key, so one pass forwards and one backwards)."""
    if not written:
        return
    latest = dict(written)
    earliest = dict(reversed(written))
    for meter_id, lo in earliest.items():
        hi = latest[meter_id]
        span = touched.get(meter_id)
        if span is None:
            touched[meter_id] = [lo, hi]
        else:
            span[0], span[1] = min(span[0], lo), max(span[1], hi)
