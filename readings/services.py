"""State changes of readings. Every source (API, CSV, manual entry, gateways) calls
:func:`reading_ingest`; the other services wrap it for one path each.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from billspree.core import csv_export
from billspree.core.billing_inputs import READING, Impact, InputChange, billing_inputs_notify
from billspree.core.errors import Conflict
from billspree.core.files import check_upload_size
from billspree.core.limits import date_in_range
from billspree.core.models import ApiKey
from billspree.core.queue import enqueue_on_commit
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import Meter
from readings import ingest, ingest_snapshot, rollups
from readings.ingest_sql import save_states
from readings.ingest_state import Batch, RowResult, utcnow
from readings.models import Reading, ReadingAnomaly, Source, Upload
from readings.parsing import CsvFileError, RowIn, csv_rows, parse_local_instant
from readings.partitions import month_of, partitions_ensure

logger = logging.getLogger(__name__)

CHUNK_ROWS = 10_000
API_BATCH_LIMIT = 10_000
#: Bad rows kept on the upload for the page; the downloadable report has all of them.
ERRORS_ON_PAGE = 200


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


def consumption_rollups_rebuild(
    *,
    first: date,
    last: date,
    serials: list[str] | None = None,
    meter_ids: list[int] | None = None,
) -> int:
    """Recompute the daily/monthly consumption rollups of [first, last] (local dates) for
    the organization's meters (or the given serial numbers / ids); returns days written."""
    org = require_organization()
    meters = Meter.objects.all()
    if serials:
        meters = meters.filter(serial_number__in=serials)
    if meter_ids is not None:
        meters = meters.filter(id__in=meter_ids)
    zones = rollups.meter_zones(meters.values_list("id", flat=True), org.time_zone)
    with transaction.atomic():
        return rollups.rollups_rebuild(organization_id=org.pk, zones=zones, first=first, last=last)


# --- API batches with Idempotency-Key --------------------------------------------------------


def _request_hash(items: list[dict], replace: bool) -> str:
    body = json.dumps({"items": items, "replace": replace}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _guess_months(values: Iterable[Any]) -> set[tuple[int, int]]:
    """Months an API batch will write to, for creating partitions before the transaction.

    A naive or date-only instant may be local to any zone, so the neighbouring months are
    included; anything unparseable is left to validation.
    """
    months = set()
    latest = datetime.now(UTC) + timedelta(days=1)  # future instants are rejected anyway
    for raw in values:
        try:
            t = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).strip())
        except ValueError:
            continue
        t = t if t.tzinfo else t.replace(tzinfo=UTC)
        if date_in_range(t) and t <= latest:  # year 1 or 9999: a row error, no partition
            months.update({month_of(t - timedelta(days=1)), month_of(t + timedelta(days=1))})
    return months


#: Creating partitions ahead is an optimisation for normal deliveries; a batch that spans
#: more months than this gets its partitions on demand, for validated rows only (so a
#: hostile batch of made-up dates cannot create thousands of tables).
PRECREATE_MONTHS = 36


def _precreate(months: set[tuple[int, int]]) -> None:
    if not connection.in_atomic_block and len(months) <= PRECREATE_MONTHS:
        partitions_ensure(months)


def reading_batch_submit(
    *,
    items: list[dict],
    idempotency_key: str = "",
    replace: bool = False,
    all_or_nothing: bool = False,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
) -> tuple[dict, bool]:
    """Ingest an API batch; returns (response body, replayed).

    With an ``Idempotency-Key`` the first response is stored on the batch's ``Upload``
    in the same transaction as its readings; the same key with the same body returns
    that response again (``replayed``), with another body it is a conflict.
    """
    if len(items) > API_BATCH_LIMIT:
        raise ValidationError({"items": [f"At most {API_BATCH_LIMIT} readings per request."]})
    key = idempotency_key.strip()[:200]
    digest = _request_hash(items, replace)
    if key and (stored := _replay(key, digest)) is not None:
        return stored, True
    _precreate(_guess_months(i.get("readAt") for i in items if isinstance(i, dict)))
    try:
        with transaction.atomic():
            return _submit(items, key, digest, replace, all_or_nothing, actor, api_key), False
    except IntegrityError:
        if key and (stored := _replay(key, digest)) is not None:
            return stored, True  # a concurrent request with the same key won the race
        raise


def _replay(key: str, digest: str) -> dict | None:
    upload = Upload.objects.filter(idempotency_key=key).first()
    if upload is None:
        return None
    if upload.request_hash != digest:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            fields={"Idempotency-Key": ["reused with another body"]},
            code="idempotency_key_reused",
        )
    return upload.response


def _submit(items, key, digest, replace, all_or_nothing, actor, api_key) -> dict:
    upload = Upload.objects.create(
        organization=require_organization(),
        source=Source.API,
        status=Upload.Status.PROCESSING,
        idempotency_key=key,
        request_hash=digest,
        replace=replace,
        all_or_nothing=all_or_nothing,
        created_by=actor if actor is not None and actor.is_authenticated and not api_key else None,
        api_key=api_key,
        rows_total=len(items),
    )
    rows = [_api_row(index, item) for index, item in enumerate(items)]
    outcome = reading_ingest(
        rows=rows, source=Source.API, upload=upload, replace=replace, all_or_nothing=all_or_nothing
    )
    body = {
        "upload": str(upload.public_id),
        "committed": outcome.committed,
        "counts": outcome.counts,
        "results": [_api_result(r, outcome.committed) for r in outcome.results],
        # what the readings changed in billing: drafts marked stale, adjustments of issued
        # invoices (empty when nothing billed is touched)
        "affects_invoices": [i.as_dict() for i in outcome.impacts],
    }
    upload_finish(upload, outcome, response=body)
    return body


def _api_row(index: int, item: Any) -> RowIn:
    if not isinstance(item, dict):
        return RowIn(line=index, meter_number="", read_at=None, value=None)
    return RowIn(
        line=index,
        meter_number=item.get("meterNumber"),
        read_at=item.get("readAt"),
        value=item.get("value"),
        quality=item.get("quality"),
    )


def _api_result(r: RowResult, committed: bool) -> dict:
    data = r.as_dict()
    data["index"] = data.pop("line")
    if not committed and r.status != "rejected":
        data["status"] = "not_imported"
    return data


def upload_finish(
    upload: Upload,
    outcome: IngestResult,
    *,
    response: dict | None = None,
    errors: list[dict] | None = None,
) -> None:
    """Record an ingestion's outcome on its upload (status, counts, the first bad rows)."""
    failed = not outcome.committed
    upload.status = Upload.Status.REJECTED if failed else Upload.Status.DONE
    upload.rows_total = upload.rows_done = outcome.rows
    upload.created_count = 0 if failed else outcome.counts.get("created", 0)
    upload.unchanged_count = 0 if failed else outcome.counts.get("unchanged", 0)
    upload.replaced_count = 0 if failed else outcome.counts.get("replaced", 0)
    upload.anomaly_count = 0 if failed else outcome.counts.get("anomalies", 0)
    upload.error_count = outcome.error_count
    if errors is None:
        errors = [_error_row(r) for r in outcome.results if r.status == "rejected"]
    upload.errors = errors[:ERRORS_ON_PAGE]
    # billing was told in the import's transaction; the person reads it on the upload
    upload.impacts = [] if failed else [i.as_dict() for i in outcome.impacts]
    upload.response = response
    upload.finished_at = timezone.now()
    upload.save()


def _error_row(r: RowResult) -> dict:
    return {"line": r.line, "meterNumber": r.meter_number, "errors": [list(e) for e in r.errors]}


# --- CSV uploads -----------------------------------------------------------------------------


@transaction.atomic
def upload_create(
    *,
    file: Any,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    replace: bool = False,
    all_or_nothing: bool = True,
) -> Upload:
    """Store an uploaded CSV and queue its import (a task: large files take a while).

    Refusals (not a CSV, over ``UPLOAD_MAX_BYTES``) come before anything is stored: no row,
    no file. The file goes to the private ``uploads`` storage under a random name; the
    sender's name is kept on the row for the pages.
    """
    name = (getattr(file, "name", "") or "readings.csv").replace("\\", "/").rsplit("/", 1)[-1]
    # shown on pages and in Content-Disposition: no control characters (NUL, line breaks)
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "readings.csv"
    if not name.lower().endswith((".csv", ".txt")):
        raise ValidationError(
            {"file": ["Upload a .csv file (columns meterNumber, readAt, value[, quality])."]}
        )
    check_upload_size(file)
    upload = Upload(
        organization=require_organization(),
        source=Source.UPLOAD,
        filename=name[:255],
        replace=replace,
        all_or_nothing=all_or_nothing,
        api_key=api_key,
        created_by=actor if actor is not None and actor.is_authenticated and not api_key else None,
    )
    upload.file.save(name, file, save=False)
    try:
        upload.save()
        audit_record(action="readings.upload", actor=actor, api_key=api_key, target=name)
    except Exception:
        upload.file.storage.delete(upload.file.name)  # no row, so no file either
        raise
    enqueue_on_commit("readings.tasks.upload_process_task", upload.pk)
    return upload


def upload_claim(*, upload_id: int) -> bool:
    """Claim a pending upload for processing; False if another worker already has it."""
    return (
        Upload.objects.filter(pk=upload_id, status=Upload.Status.PENDING).update(
            status=Upload.Status.PROCESSING
        )
        == 1
    )


def upload_process(*, upload: Upload, now: datetime | None = None) -> Upload:
    """Import a claimed CSV upload, streaming the file; progress is visible while it runs.

    Every way it can end leaves the upload finished: done, rejected (the file cannot be
    read: the reason names the line) or failed (the import broke: nothing was stored, the
    readings' transaction was rolled back). Only a transient database error is raised, for
    the task to retry.
    """
    from readings.progress import ProgressWriter

    try:
        _count_rows(upload)
        _prepare_partitions(upload)
        with (
            upload.file.open("rb") as stream,
            ProgressWriter(upload.pk) as progress,
            ErrorReport() as report,
        ):

            def on_chunk(done: int, results: list[RowResult]) -> None:
                report.add(results)
                progress.update(done)

            outcome = reading_ingest(
                rows=csv_rows(stream),
                source=Source.UPLOAD,
                upload=upload,
                replace=upload.replace,
                all_or_nothing=upload.all_or_nothing,
                keep_results=False,
                keep_rejected=False,
                now=now,
                on_chunk=on_chunk,
            )
            upload_finish(upload, outcome, errors=report.first)
            report.save_to(upload)
    except CsvFileError as exc:
        return _upload_failed(upload, str(exc))
    except UnicodeDecodeError:
        return _upload_failed(upload, "The file is not UTF-8 text; export it as CSV (UTF-8).")
    except OperationalError:
        raise  # transient (connection lost, deadlock): the task hands it back and retries
    except Exception as exc:
        # Whatever else stops the import: the readings' transaction was rolled back, so
        # nothing is stored; the upload must end (not wait "pending" for ever) and say so.
        logger.exception("Upload %s failed", upload.public_id)
        return _upload_failed(
            upload,
            f"The import stopped on an unexpected error ({type(exc).__name__}); nothing was "
            "imported. Check the file, or send it to support with this upload's id.",
            status=Upload.Status.FAILED,
        )
    return upload


class ErrorReport:
    """Every bad row of an import, streamed to a spooled file (a file of a million bad rows
    must not sit in memory); the first ones are also kept for the page."""

    HEADER = ["line", "meterNumber", "column", "reason"]

    def __init__(self) -> None:
        # closed by __exit__: the report lives as long as the import's ``with`` block
        self.file = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", newline="")  # noqa: SIM115
        self.writer = csv_export.writer(self.file)
        self.writer.writerow(self.HEADER)
        self.first: list[dict] = []
        self.count = 0

    def add(self, results: list[RowResult]) -> None:
        for r in results:
            if r.status != "rejected":
                continue
            self.count += 1
            if len(self.first) < ERRORS_ON_PAGE:
                self.first.append(_error_row(r))
            self.writer.writerows([r.line, r.meter_number, c, m] for c, m in r.errors)

    def __enter__(self) -> ErrorReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def save_to(self, upload: Upload) -> None:
        if self.count:
            self.file.seek(0)
            content = ContentFile(self.file.read().encode())
            upload.error_report.save(f"errors-{upload.public_id}.csv", content, save=True)


def _count_rows(upload: Upload) -> None:
    """Total lines, for the progress bar (a fast byte scan; the file is read again anyway)."""
    with upload.file.open("rb") as f:
        total = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    Upload.objects.filter(pk=upload.pk).update(rows_total=max(total - 1, 0))
    upload.rows_total = max(total - 1, 0)


def uploads_sweep(*, now: datetime | None = None) -> int:
    """Fail the uploads of every organization that are still pending or processing
    ``UPLOAD_STUCK_AFTER_MINUTES`` after they were sent (their task was lost, their worker
    killed, or its retries ran out), so nobody waits on a progress bar that never moves.

    The update re-checks the status, so an import that finishes meanwhile keeps its
    outcome; one that finishes *after* (a very slow worker) overwrites "failed" with its
    real outcome. Readings are idempotent: sending the file again stores no duplicates.
    """
    from django.conf import settings

    minutes = settings.UPLOAD_STUCK_AFTER_MINUTES
    now = now or timezone.now()
    stuck = Upload.objects.unscoped().filter(
        status__in=[Upload.Status.PENDING, Upload.Status.PROCESSING],
        created_at__lt=now - timedelta(minutes=minutes),
    )
    reason = (
        f"The import did not finish within {minutes} minutes (its task was lost or its "
        "worker stopped), so it was marked failed. Upload the file again: readings already "
        "stored are recognised and not duplicated."
    )
    swept = list(stuck.values_list("public_id", flat=True))
    count = stuck.update(
        status=Upload.Status.FAILED, failure=reason, finished_at=now, error_count=1,
        errors=[{"line": 1, "meterNumber": "", "errors": [["file", reason]]}],
    )
    if count:
        logger.warning("Failed %s stuck upload(s): %s", count, ", ".join(map(str, swept)))
    return count


def _prepare_partitions(upload: Upload) -> None:
    """Create the file's months' partitions in short transactions before the long import."""
    if connection.in_atomic_block:
        return
    with upload.file.open("rb") as stream:
        try:
            tz = upload.organization.time_zone
            _precreate(_guess_months(_local_or_raw(r.read_at, tz) for r in csv_rows(stream)))
        except (CsvFileError, UnicodeDecodeError):
            return


def _local_or_raw(raw: Any, tz) -> Any:
    """A CSV cell in a local date form as an instant (for guessing partitions), else as is."""
    instant, _why = parse_local_instant(raw, tz)
    return instant or raw


def _upload_failed(
    upload: Upload, reason: str, *, status: str = Upload.Status.REJECTED
) -> Upload:
    """End an upload whose file could not be imported at all (REJECTED: the file's fault,
    e.g. no header; FAILED: the import broke), with the reason on the page and in the API."""
    upload.status = status
    upload.error_count = 1
    upload.errors = [{"line": 1, "meterNumber": "", "errors": [["file", reason]]}]
    upload.failure = reason
    upload.finished_at = timezone.now()
    upload.save()
    return upload


def upload_error_csv(*, upload: Upload) -> bytes:
    """The bad-row report as CSV (the stored full report, or the page's rows).

    Cells echo what the sender typed (meter numbers, values), so they go through the
    formula-safe writer; a report stored by an older release is re-written on the way out
    (idempotent: a neutralised cell starts with a quote and is left alone).
    """
    buffer = io.StringIO()
    writer = csv_export.writer(buffer)
    if upload.error_report:
        with upload.error_report.open("rb") as f:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            writer.writerows(csv_export.csv_reader(text))
        return buffer.getvalue().encode()
    writer.writerow(["line", "meterNumber", "column", "reason"])
    for row in upload.errors:
        for column, reason in row["errors"]:
            writer.writerow([row["line"], row["meterNumber"], column, reason])
    return buffer.getvalue().encode()


# --- manual entry and anomaly review -----------------------------------------------------


def reading_enter(
    *,
    meter: Meter,
    read_at: datetime,
    value: Decimal | str,
    actor: AbstractBaseUser,
    replace: bool = False,
) -> RowResult:
    """One reading typed in the portal; the same rules as every other path."""
    with transaction.atomic():
        upload = Upload.objects.create(
            organization=require_organization(),
            source=Source.MANUAL,
            created_by=actor,
            replace=replace,
            all_or_nothing=True,
            rows_total=1,
        )
        row = RowIn(line=1, meter_number=meter.serial_number, read_at=read_at, value=value)
        outcome = reading_ingest(
            rows=[row], source=Source.MANUAL, upload=upload, replace=replace, all_or_nothing=True
        )
        upload_finish(upload, outcome)
    result = outcome.results[0]
    if result.status == "rejected":
        raise ValidationError({_FORM_FIELDS.get(c, c): [m] for c, m in result.errors})
    result.impacts = outcome.impacts
    return result


_FORM_FIELDS = {"readAt": "read_at", "value": "value", "meterNumber": "meter"}


@transaction.atomic
def anomaly_review(
    *,
    anomaly: ReadingAnomaly,
    action: str,
    actor: AbstractBaseUser,
    value: Decimal | str | None = None,
    note: str = "",
) -> ReadingAnomaly:
    """Confirm an anomalous reading as real, or correct its value (a replace, audited)."""
    if anomaly.status != ReadingAnomaly.Status.OPEN:
        raise Conflict("This anomaly was already reviewed.")
    if action == "correct":
        if value in (None, ""):
            raise ValidationError({"value": ["Give the corrected register value."]})
        meter = Meter.objects.get(pk=anomaly.meter_id)
        reading_enter(meter=meter, read_at=anomaly.read_at, value=value, actor=actor, replace=True)
        anomaly.status = ReadingAnomaly.Status.CORRECTED
    elif action == "confirm":
        anomaly.status = ReadingAnomaly.Status.CONFIRMED
    else:
        raise ValidationError({"action": ["Use confirm or correct."]})
    Reading.objects.filter(meter_id=anomaly.meter_id, read_at=anomaly.read_at).update(
        is_anomaly=False
    )
    anomaly.reviewed_by, anomaly.reviewed_at, anomaly.note = actor, timezone.now(), note[:200]
    anomaly.save()
    audit_record(action=f"readings.anomaly.{action}", actor=actor, target=str(anomaly)[:200])
    return anomaly
