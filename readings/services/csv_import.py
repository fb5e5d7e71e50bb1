"""CSV uploads: stored, queued, imported by a task while their progress shows, swept when
their task is lost."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from billspree.core.files import check_upload_size
from billspree.core.models import ApiKey
from billspree.core.queue import enqueue_on_commit
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from readings.ingest_state import RowResult
from readings.models import Source, Upload
from readings.parsing import CsvFileError, csv_rows, parse_local_instant
from readings.partitions import months_guess, partitions_precreate
from readings.services.ingestion import reading_ingest
from readings.services.uploads import ErrorReport, upload_finish

logger = logging.getLogger(__name__)


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


def upload_release(*, upload_id: int) -> bool:
    """Hand a claimed upload back (pending) after its import hit a transient database error,
    so the task's retry can claim it again; whatever the failed attempt recorded, the retry
    imports the file again (readings already stored are recognised, not duplicated).
    False if there is no such upload in this organization."""
    return Upload.objects.filter(pk=upload_id).update(status=Upload.Status.PENDING) == 1


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
            months = months_guess(_local_or_raw(r.read_at, tz) for r in csv_rows(stream))
            partitions_precreate(months)
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
