"""The ingestion engine behind ``readings.services.reading_ingest``: set-based, per chunk.

A batch is handled in chunks of ten thousand rows. Per chunk, whatever its size: one
query resolves new meters and their assignments (cached for the whole batch), one locks
the state rows of meters not seen yet in the batch, one finds rows already stored at the
same instants and one their neighbours (only for back-filled rows), one COPY writes the
new rows and one UPDATE applies replacements. The state rows are written back once, at
the end of the batch. Python only walks the rows of each meter in time order to apply
the rules.

The seams: the rules and their fast-path guards are in ``readings.rules`` (add a rule
there, never here), the statements in ``readings.ingest_sql``, the batch's data in
``readings.ingest_state``, register arithmetic in ``readings.registers``. This module
only orders the work of a chunk.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from readings import rules
from readings.ingest_sql import (
    copy_readings,
    load_meters,
    lock_states,
    neighbours,
    recompute_totals,
    refresh_last_totals,
    stored_at,
    update_readings,
)
from readings.ingest_state import (
    Batch,
    ChunkWrites,
    MeterInfo,
    RowResult,
    State,
    Stored,
    advance_state,
    assignment_at,
)
from readings.models import Quality, ReadingAnomaly, ReadingRevision
from readings.parsing import RowIn
from readings.registers import Point, advance


def process_chunk(batch: Batch, rows: list[RowIn]) -> list[RowResult]:
    """Validate and write one chunk; returns a result per row in input order."""
    load_meters(batch, {str(r.meter_number or "").strip() for r in rows})
    results = [rules.check_row(batch, row) for row in rows]
    valid = rules.dedupe_in_chunk([r for r in results if r.status != "rejected"])
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


def _decide(
    batch, r: RowResult, meter: MeterInfo, state: State, stored, near, writes: ChunkWrites
) -> None:
    """Apply the rules against stored readings to one row, stage its write, move its state."""
    existing = stored.get((r.meter_id, r.read_at))
    if not rules.check_existing(batch, r, existing):
        return
    backfill = _is_backfill(state, r.read_at)
    prev, nxt = _backfill_neighbours(r, state, near, writes) if backfill else (state.last, None)
    prev = _with_initial(meter, r.read_at, prev)
    delta = rules.check_order(batch, r, meter, prev, nxt)
    if r.status == "rejected":
        return
    rules.flag_jump(r, state, prev, delta)
    total = (prev.total + delta) if prev is not None and prev.total is not None else r.value
    _stage(batch, r, existing, total, writes, prev)
    if backfill:
        writes.backfilled[r.meter_id] = Point(r.read_at, r.value, total)
    advance_state(state, r, prev, delta, total)


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
    assignment = assignment_at(meter, instant)
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
