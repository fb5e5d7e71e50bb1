"""The ingestion service: every source (API, CSV, manual entry, gateways) stores readings
through :func:`reading_ingest`; :func:`reading_ingest_snapshot` is the gateway fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from billspree.core.billing_inputs import READING, Impact, InputChange, billing_inputs_notify
from billspree.core.scoping import require_organization
from readings import ingest, ingest_snapshot, rollups
from readings.ingest_sql import save_states
from readings.ingest_state import Batch, RowResult, utcnow
from readings.models import Source, Upload
from readings.parsing import RowIn

CHUNK_ROWS = 10_000


class _RollBack(Exception):
    """Raised inside the ingestion transaction to undo an all-or-nothing batch."""


@dataclass
class IngestResult:
    results: list[RowResult] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    committed: bool = True
    rows: int = 0
    #: Lines stored by the set-based snapshot path (``reading_ingest_snapshot``), which
    #: keeps no per-row result for them: each one is "created".
    stored_lines: list[int] = field(default_factory=list)
    #: What the readings changed in billing (drafts marked stale, adjustments of issued
    #: periods), as ``billspree.core.billing_inputs.Impact`` rows: told to the caller.
    impacts: list[Impact] = field(default_factory=list)
    #: The readings written, as billing hears of them (``notify=False``: for the caller).
    change: InputChange | None = None

    @property
    def error_count(self) -> int:
        return self.counts.get("rejected", 0)


def _chunks(rows: Iterable[RowIn], size: int) -> Iterator[list[RowIn]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def reading_ingest(
    *,
    rows: Iterable[RowIn],
    source: str,
    upload: Upload | None = None,
    replace: bool = False,
    all_or_nothing: bool = False,
    now: datetime | None = None,
    keep_results: bool = True,
    keep_rejected: bool = True,
    on_chunk: Callable[[int, list[RowResult]], None] | None = None,
    notify: bool = True,
) -> IngestResult:
    """Validate and store readings with the rules of ``readings.rules``; one result per row.

    ``all_or_nothing``: any rejected row undoes the whole batch (CSV default); results
    still list every row, so the caller can report every bad one. Otherwise good rows are
    stored and bad ones rejected individually (API batches). Resubmitting the same rows
    changes nothing (duplicates are no-ops). ``on_chunk`` is told the progress; with
    ``keep_results=False`` only rejected rows are kept (a million-row file), and with
    ``keep_rejected=False`` not even those: ``on_chunk`` sees them and streams them away.

    Billing is told, in this transaction, which meters' readings changed and when
    (``billing_inputs_notify``): a drafted period they change is marked stale, an issued one
    gets an adjustment; ``outcome.impacts`` says so. ``notify=False``: the caller tells
    billing itself (a move notifies once for its readings and its occupancy).
    """
    if source not in Source.values:
        raise ValidationError({"source": [f"Unknown source {source!r}."]})
    org = require_organization()
    batch = Batch(
        organization_id=org.pk,
        source=source,
        upload=upload,
        replace=replace,
        now=now or utcnow(),
        default_tz=org.time_zone,
    )
    outcome = IngestResult(
        counts={"created": 0, "unchanged": 0, "replaced": 0, "rejected": 0, "anomalies": 0}
    )
    try:
        with transaction.atomic():
            for chunk in _chunks(rows, CHUNK_ROWS):
                results = ingest.process_chunk(batch, chunk)
                _tally(outcome, results, keep_results, keep_rejected)
                if on_chunk:
                    on_chunk(outcome.rows, results)
            save_states(batch.states.values())
            if all_or_nothing and outcome.error_count:
                raise _RollBack
            _rollups_update(batch)
            outcome.change = _change(batch)
            if notify:
                outcome.impacts = billing_inputs_notify(
                    changes=[outcome.change],
                    actor=upload.created_by if upload is not None else None,
                    api_key=upload.api_key if upload is not None else None,
                )
    except _RollBack:
        outcome.committed = False
    return outcome


def reading_ingest_snapshot(
    *,
    rows: Sequence[tuple[int, str, Any]],
    read_at: datetime,
    source: str,
    upload: Upload | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store one reading per meter, all at ``read_at`` (a gateway poll): rows are
    ``(meter id, meter number, value)`` and line ``i`` is row ``i``.

    The same rules and outcome as :func:`reading_ingest` (not all or nothing), faster for
    the common case: readings that simply move a meter forward are checked and written by
    one statement (``readings.ingest_snapshot``, listed in ``stored_lines``, no per-row
    result); every other row goes through :func:`reading_ingest` (its results, with their
    lines, are in ``results``), so a repeated poll is unchanged and a bad value rejected
    with the usual reason.
    """
    if source not in Source.values:
        raise ValidationError({"source": [f"Unknown source {source!r}."]})
    org = require_organization()
    now = now or utcnow()
    meter_ids = [r[0] for r in rows]
    values = [r[2] for r in rows]
    outcome = IngestResult(
        counts={"created": 0, "unchanged": 0, "replaced": 0, "rejected": 0, "anomalies": 0}
    )
    with transaction.atomic():
        fast = ingest_snapshot.candidates(meter_ids, values, read_at, now)
        written = ingest_snapshot.write_snapshot(
            organization_id=org.pk,
            meter_ids=[meter_ids[i] for i, _ in fast],
            values=[value for _, value in fast],
            read_at=read_at,
            source=source,
            upload_id=upload.pk if upload else None,
            now=now,
        )
        ingest_snapshot.rollups_after_snapshot(org.pk, written, read_at)
        outcome.impacts = billing_inputs_notify(changes=[readings_change(
            {m: [read_at, read_at] for m in written.stored}, "readings added by a poll"
        )])
        outcome.stored_lines = [i for i, _ in fast if meter_ids[i] in written.stored]
        stored = set(outcome.stored_lines)
        rest = [
            RowIn(i, serial, read_at, value)
            for i, (_, serial, value) in enumerate(rows)
            if i not in stored
        ]
        if rest:
            general = reading_ingest(
                rows=rest, source=source, upload=upload, now=now, keep_results=True
            )
            outcome.results = general.results
            outcome.counts = general.counts
            outcome.impacts += general.impacts
    outcome.counts["created"] += len(outcome.stored_lines)
    outcome.rows = len(rows)
    return outcome


def readings_change(touched: dict[int, list[datetime]], description: str) -> InputChange | None:
    """The change billing is told about: each meter's earliest and latest instant written."""
    if not touched:
        return None
    windows = tuple((m, span[0], span[1]) for m, span in sorted(touched.items()))
    return InputChange(
        kind=READING, description=description, start=min(w[1] for w in windows),
        end=max(w[2] for w in windows), meter_windows=windows,
    )


def _change(batch: Batch) -> InputChange | None:
    upload = batch.upload
    what = "readings corrected" if batch.replace else "readings added"
    if upload is not None and upload.source == Source.UPLOAD:
        what += f" by the upload {upload.filename}"
    return readings_change(batch.touched, what)


def _rollups_update(batch: Batch) -> None:
    """Recompute the daily/monthly consumption of the meter-days the batch wrote to."""
    if not batch.touched:
        return
    meters = [m for m in batch.meters.values() if m is not None and m.id in batch.touched]
    zones = {m.id: m.tz for m in meters}
    connected = {m.id: m.assignments[0][0] for m in meters}
    latest = {m: batch.states[m].last.at for m in batch.touched}
    rollups.rollups_after_ingest(
        batch.organization_id, batch.touched, zones, latest, batch.before, connected
    )


def _tally(
    outcome: IngestResult, results: list[RowResult], keep: bool, keep_rejected: bool
) -> None:
    outcome.rows += len(results)
    for r in results:
        outcome.counts[r.status] = outcome.counts.get(r.status, 0) + 1
        if r.anomaly and r.status != "rejected":
            outcome.counts["anomalies"] = outcome.counts.get("anomalies", 0) + 1
    if keep:
        outcome.results.extend(results)
    elif keep_rejected:
        outcome.results.extend(r for r in results if r.status == "rejected")
