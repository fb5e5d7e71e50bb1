"""The SQL of ingestion: every statement ``readings.ingest`` runs, set-based per chunk.

Raw SQL with array parameters throughout: an ``IN`` list of 10,000 values costs more to
plan than to run, and COPY is the fastest way into PostgreSQL. Raw SQL bypasses the
scoped manager, so each statement names the organization or works on ids resolved
within it (``load_meters`` resolves serials in the batch's organization only).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import connection

from readings.ingest_state import NUL, Batch, MeterInfo, State, Stored, zone
from readings.partitions import partitions_ensure_for
from readings.registers import ROLLOVER_SHARE, Point, capacity

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
    tz = zone(assignments[-1][3]) if assignments else batch.default_tz
    return MeterInfo(
        id=meter_id,
        serial=serial,
        cap=capacity(digits),
        digits=digits,
        tz=tz,
        assignments=[(a[0], a[1], a[2]) for a in assignments],
    )


# --- states and stored rows ------------------------------------------------------------


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
