"""An upload's life as a record: opened, finished with its outcome, its bad-row report.

Every path that delivers readings (a CSV file, an API batch, a manual entry, a move's
readings, a gateway poll) records itself as one ``Upload``. Only the readings services
write that row (these, and ``csv_import`` for a file's queue and progress); another app
opens and closes its deliveries' uploads through :func:`upload_open` and
:func:`upload_close`.
"""

from __future__ import annotations

import io
import tempfile
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone

from billspree.core import csv_export
from billspree.core.models import ApiKey
from billspree.core.scoping import require_organization
from readings.ingest_state import RowResult
from readings.models import Source, Upload
from readings.services.ingestion import IngestResult

#: Bad rows kept on the upload for the page; the downloadable report has all of them.
ERRORS_ON_PAGE = 200


def _creator(actor: AbstractBaseUser | None, api_key: ApiKey | None) -> AbstractBaseUser | None:
    """Who sent it, as the row keeps it: a signed-in person, never with an API key."""
    if actor is None or api_key is not None or not actor.is_authenticated:
        return None
    return actor


def upload_open(
    *,
    source: str,
    note: str = "",
    replace: bool = False,
    all_or_nothing: bool = True,
    rows_total: int = 0,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str = "",
    request_hash: str = "",
) -> Upload:
    """Open the upload of a delivery that is processed now (status "processing"): an API
    batch, a manual entry, a move's readings, a gateway poll. Its readings point at it;
    :func:`upload_finish` or :func:`upload_close` records the outcome.

    A CSV file is opened by ``upload_create`` instead (stored first, imported by a task).
    One INSERT, in the caller's transaction (no savepoint of its own: a poll opens one per
    cycle inside a batch's transaction).
    """
    if source not in Source.values:
        raise ValidationError({"source": [f"Unknown source {source!r}."]})
    if rows_total < 0:
        raise ValidationError({"rows_total": [f"{rows_total} is not a number of rows."]})
    return Upload.objects.create(
        organization=require_organization(),
        source=source,
        status=Upload.Status.PROCESSING,
        note=note[:200],
        replace=replace,
        all_or_nothing=all_or_nothing,
        rows_total=rows_total,
        created_by=_creator(actor, api_key),
        api_key=api_key,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )


def upload_close(
    *,
    upload: Upload,
    rows: int,
    created: int = 0,
    unchanged: int = 0,
    anomalies: int = 0,
    errors: int = 0,
    now: datetime | None = None,
) -> int:
    """Mark an upload done with the counts of what its delivery stored, in one statement
    (a gateway poll that stored its readings batch by batch, a move's readings).

    Repeating it with the same counts changes nothing more. Returns the rows changed: 0
    when the upload is gone (its transaction was rolled back) or another organization's.
    """
    counts = {"rows": rows, "created": created, "unchanged": unchanged,
              "anomalies": anomalies, "errors": errors}
    bad = {k: [f"{v} is not a count."] for k, v in counts.items() if v < 0}
    if bad:
        raise ValidationError(bad)
    return Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.DONE,
        rows_total=rows,
        rows_done=rows,
        created_count=created,
        unchanged_count=unchanged,
        anomaly_count=anomalies,
        error_count=errors,
        finished_at=now or timezone.now(),
    )


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
