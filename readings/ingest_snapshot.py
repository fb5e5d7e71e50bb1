"""Set-based ingestion of a snapshot: one new reading per meter, all at one instant.

A gateway poll (or any push of "every meter's register now") is, reading after reading,
the easiest case of ingestion: the instant is after each meter's latest reading, the
register went forward by a plausible amount, and the meter is still installed where it
was at its latest reading. For that case every rule of ``readings.rules`` needs only the
meter's state row, its open assignment (connected at or before its latest reading) and
its register size, so one SQL statement checks them, locks the state rows (in meter
order, ``FOR UPDATE``, as the general engine does), moves each state forward (latest
reading, unwrapped total, the ~30-day window of use, with the same float arithmetic as
``ingest_state.advance_state``) and inserts the readings. No Python runs per row but building
the two arrays it is sent.

Every row the statement does not take goes, unchanged, through the general engine
(``reading_ingest``) in the same transaction, which applies all the rules and gives the
reasons: a meter's first reading, an instant at or before its latest one (a repeated
poll: unchanged, or a conflict), a lower value (rollover or drop), a jump above
``ANOMALY_FACTOR``× the typical use (flagged there), a meter moved or removed since its
latest reading, an unknown meter, a value that does not fit the register or is not a
valid number, an instant in the future, a meter given twice.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import connection

from readings import rollups, rules
from readings.ingest_sql import COPY_COLUMNS
from readings.ingest_state import WINDOW_DAYS
from readings.ingest_state import zone as zone_of
from readings.models import Quality
from readings.parsing import parse_value
from readings.partitions import partitions_ensure_for

#: The ``WHERE`` clauses are the guards of ``readings.rules.RULES`` (a rule without one is
#: marked there as never reaching this statement). A state row's window arithmetic follows
#: ``ingest_state.advance_state`` and the jump guard ``rules.flag_jump`` exactly (float8
#: in PostgreSQL is the same IEEE double as a Python float, and the operations are done
#: in the same order).
_SNAPSHOT_SQL = f"""
WITH v AS MATERIALIZED (
    SELECT * FROM unnest(%(meters)s::bigint[], %(values)s::numeric[]) AS v(meter_id, value)
    ORDER BY meter_id
), cand AS (
    SELECT v.meter_id, v.value, s.last_read_at AS old_at, s.last_value, s.last_total,
           s.window_days::float8 AS wd, s.window_use::float8 AS wu,
           extract(epoch FROM %(at)s::timestamptz - s.last_read_at)::float8 / 86400.0 AS days,
           p.time_zone AS zone
    FROM v
    CROSS JOIN LATERAL (
        SELECT s.* FROM readings_meterreadingstate s
        WHERE s.meter_id = v.meter_id AND s.organization_id = %(org)s
        FOR UPDATE
    ) s
    CROSS JOIN LATERAL (
        SELECT m.organization_id, m.register_digits FROM meters_meter m
        WHERE m.id = v.meter_id OFFSET 0
    ) m
    CROSS JOIN LATERAL (
        SELECT a.connected_at, a.billing_point_id FROM meters_meterassignment a
        WHERE a.meter_id = v.meter_id AND a.removed_at IS NULL OFFSET 0
    ) a
    CROSS JOIN LATERAL (
        SELECT b.property_id FROM meters_billingpoint b WHERE b.id = a.billing_point_id OFFSET 0
    ) b
    CROSS JOIN LATERAL (
        SELECT p.time_zone FROM meters_property p WHERE p.id = b.property_id OFFSET 0
    ) p
    WHERE {rules.snapshot_where('cand')}
), ok AS (
    SELECT c.*, c.value - c.last_value AS delta, c.wd + c.days > {WINDOW_DAYS} AND c.wd > 0
        AS trim
    FROM cand c
    WHERE {rules.snapshot_where('ok')}
), upd AS (
    UPDATE readings_meterreadingstate s SET
        last_read_at = %(at)s, last_value = ok.value, last_total = ok.last_total + ok.delta,
        window_days = CASE WHEN ok.trim
            THEN ok.wd * (greatest({WINDOW_DAYS} - ok.days, 0.0) / ok.wd)
            ELSE ok.wd END + ok.days,
        window_use = CASE WHEN ok.trim
            THEN ok.wu * (greatest({WINDOW_DAYS} - ok.days, 0.0) / ok.wd)
            ELSE ok.wu END + ok.delta::float8,
        updated_at = now()
    FROM ok WHERE s.meter_id = ok.meter_id
), ins AS (
    INSERT INTO readings_reading ({COPY_COLUMNS})
    SELECT %(org)s, ok.meter_id, %(at)s, ok.value, ok.last_total + ok.delta, %(source)s,
           %(quality)s, %(upload)s, false, %(now)s
    FROM ok
)
SELECT meter_id, old_at, zone FROM ok
"""  # noqa: S608 - only module constants are interpolated


#: The plan must not depend on table statistics. A generic plan is made at the first
#: execution on a connection and kept until a table it reads is analyzed again; made while
#: the state table was nearly empty (a fresh organization, a purged one), the earlier form
#: of this statement scanned every state row for each value, and every meter of the
#: organization inside that: one poll of 500 values ran for 15 minutes. So the statement
#: drives every lookup from the values by construction: each is a ``LATERAL`` subquery on
#: one table by its key, fenced with ``OFFSET 0`` (or ``FOR UPDATE``) so the planner can
#: neither flatten it nor push the organization check into it (where an index on
#: ``organization_id`` could be picked over the key). Sequential and bitmap scans, hash
#: and merge joins are off for the statement, so the UPDATE's join is a nested loop too; at worst
#: (state rows counted while the table was small) it costs the rows added since the last
#: ANALYZE times the batch, not the table times the batch. The generic plan is kept
#: (parsing and planning per batch cost ~25 ms more per 2,000 values than they save).
#: ``SET LOCAL`` holds the settings for the one statement (they are reset right after it,
#: before anything else runs in the transaction). A prepared statement belongs to the
#: session and survives a rolled-back transaction.
_PLAN_SETTINGS = {
    "plan_cache_mode": "force_generic_plan",
    "enable_seqscan": "off",
    "enable_bitmapscan": "off",  # one row per lookup: a plain index scan
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
}
_PLAN_SET = " ".join(f"SET LOCAL {name} = {value};" for name, value in _PLAN_SETTINGS.items())
_PLAN_RESET = "; ".join(f"RESET {name}" for name in _PLAN_SETTINGS)
_STATEMENT = "readings_snapshot_v2"
_PARAMS = (
    ("meters", "bigint[]"),
    ("values", "numeric[]"),
    ("at", "timestamptz"),
    ("org", "bigint"),
    ("source", "text"),
    ("quality", "text"),
    ("upload", "bigint"),
    ("now", "timestamptz"),
)
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _prepare(cursor) -> None:
    raw = connection.connection
    if raw in _prepared:
        return
    sql = _SNAPSHOT_SQL
    for number, (name, _) in enumerate(_PARAMS, start=1):
        sql = sql.replace(f"%({name})s", f"${number}")
    types = ", ".join(t for _, t in _PARAMS)
    cursor.execute(f"PREPARE {_STATEMENT} ({types}) AS {sql}")
    _prepared[raw] = True


@dataclass
class SnapshotWrite:
    """What the statement stored: the meter ids, and for the consumption rollups the
    meters whose latest reading moved to a later local day (their previous day is now
    complete)."""

    stored: set[int] = field(default_factory=set)
    day_completed: list[tuple[int, datetime, str]] = field(default_factory=list)


def candidates(
    meter_ids: Sequence[int], values: Sequence[object], read_at: datetime, now: datetime
) -> list[tuple[int, Decimal]]:
    """(index, parsed value) of the rows the statement may take: a valid number, the
    meter given once, an instant not in the future. Everything else is left to the
    general engine."""
    if read_at > now + rules.FUTURE_TOLERANCE:
        return []
    seen: set[int] = set()
    repeated: set[int] = set()
    for meter_id in meter_ids:
        if meter_id in seen:
            repeated.add(meter_id)
        seen.add(meter_id)
    out = []
    for index, (meter_id, raw) in enumerate(zip(meter_ids, values, strict=True)):
        if meter_id is None or meter_id in repeated:
            continue
        value, why = parse_value(raw)
        if why is None and value is not None:
            out.append((index, value))
    return out


def write_snapshot(
    *,
    organization_id: int,
    meter_ids: list[int],
    values: list[Decimal],
    read_at: datetime,
    source: str,
    upload_id: int | None,
    now: datetime,
) -> SnapshotWrite:
    """Run the statement for rows that passed :func:`candidates`; returns what it stored."""
    written = SnapshotWrite()
    if not meter_ids:
        return written
    partitions_ensure_for([read_at])
    quality = Quality.ESTIMATED if source == "estimate" else Quality.ACTUAL
    with connection.cursor() as cursor:
        _prepare(cursor)
        cursor.execute(
            f"{_PLAN_SET} EXECUTE {_STATEMENT} ({', '.join(['%s'] * len(_PARAMS))})",
            [meter_ids, values, read_at, organization_id, source, quality, upload_id, now],
        )
        rows = cursor.fetchall()
        cursor.execute(_PLAN_RESET)
    midnights: dict[str, datetime] = {}
    for meter_id, old_at, zone in rows:
        written.stored.add(meter_id)
        midnight = midnights.get(zone)
        if midnight is None:
            tz = zone_of(zone)
            midnight = midnights[zone] = datetime.combine(
                read_at.astimezone(tz).date(), time(), tzinfo=tz
            )
        # Three hours past local midnight is past any DST shift of it; closer, ask the zone.
        tz = zone_of(zone)
        if old_at < midnight + timedelta(hours=3) and (
            old_at.astimezone(tz).date() < read_at.astimezone(tz).date()
        ):
            written.day_completed.append((meter_id, old_at, zone))
    return written


def rollups_after_snapshot(organization_id: int, written: SnapshotWrite, read_at: datetime) -> int:
    """Roll up the local days the snapshot completed (as ``reading_ingest`` does for its
    batches; most snapshots complete none and cost nothing)."""
    if not written.day_completed:
        return 0
    touched = {m: [read_at, read_at] for m, _, _ in written.day_completed}
    zones = {m: zone_of(zone) for m, _, zone in written.day_completed}
    latest = dict.fromkeys(touched, read_at)
    before = {m: old_at for m, old_at, _ in written.day_completed}
    return rollups.rollups_after_ingest(organization_id, touched, zones, latest, before, {})
