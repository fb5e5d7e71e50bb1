"""Background exports: create a job, run it (a Celery task calls :func:`export_job_run`),
re-dispatch stuck ones.

Running is claimed with a conditional update (``queued`` → ``running``, or a ``running``
job whose heartbeat is older than the lease) and goes on only if exactly one row changed,
so a task delivered twice (``acks_late``, a re-dispatch by the sweep) writes the file once.
Progress (``rows_done``, ``heartbeat_at``) is written at most twice a second, outside any
transaction, so the progress page sees it while the file is being written. A failure is
stored as a sentence on the job (``error``), never lost in a log: the page says why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.models import Membership
from billspree.core.scoping import organization_context, require_organization
from billspree.core.services import audit_record
from billspree.core.timefmt import api_instant
from monitoring.models import ExportJob

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.5
MAX_ATTEMPTS = 3
KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX = 200


def lease_seconds() -> int:
    """A running job with no progress for this long is taken to be stuck (its worker died)."""
    return int(getattr(settings, "EXPORT_JOB_LEASE_SECONDS", 300))


def export_job_create(*, page: str, query: str, fmt: str, title: str, actor: Any,
                      api_key: Any = None, table: str = "", rows_total: int | None = None,
                      idempotency_key: str = "", request_hash: str = "") -> ExportJob:
    """A queued job; its task is sent when the transaction commits. Audited: an export
    takes the organization's data out (raw readings included), so who asked for which
    page and format is kept (a member, or the API key an integrator used)."""
    job = ExportJob.objects.create(
        page=page, query=query, format=fmt, table=table, title=title[:200],
        rows_total=rows_total, created_by=actor if getattr(actor, "pk", None) else None,
        idempotency_key=idempotency_key, request_hash=request_hash)
    audit_record(action="export.request", actor=actor, api_key=api_key, target=job.title,
                 detail={"export": str(job.public_id), "page": page, "query": query,
                         "format": fmt, "table": table, "rows": rows_total})
    transaction.on_commit(lambda: _dispatch(job.pk))
    return job


def export_job_request(*, page: str, query: str, fmt: str, table: str = "", actor: Any,
                       api_key: Any = None, role: str | None = None,
                       idempotency_key: str = "",
                       ) -> tuple[ExportJob, bool]:
    """A job asked for by an integrator: the page, query, format and table are checked now
    (a ValidationError naming the field, nothing created), not when the worker runs it.
    With an ``Idempotency-Key`` the same request again finds the first job (returned with
    ``True``: a replay); the key with another request is a :class:`Conflict`."""
    from monitoring.exports.pages import page_export_checked, report_query

    key = idempotency_key.strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValidationError({KEY_HEADER: [f"At most {IDEMPOTENCY_KEY_MAX} characters."]})
    query = report_query(query)
    digest = export_request_hash(page=page, query=query, fmt=fmt, table=table)
    if key and (job := _replay(key, digest)) is not None:
        return job, True
    org = require_organization()
    with timezone.override(org.time_zone):
        export, rows = page_export_checked(page=page, query=query, fmt=fmt, table=table,
                                           organization=org, user=actor, role=role)
    try:
        with transaction.atomic():
            return export_job_create(page=page, query=query, fmt=fmt, table=table,
                                     title=export.title, actor=actor, api_key=api_key,
                                     rows_total=rows,
                                     idempotency_key=key, request_hash=digest), False
    except IntegrityError:
        if key and (job := _replay(key, digest)) is not None:
            return job, True  # a concurrent request with the same key created it
        raise


def export_request_hash(*, page: str, query: str, fmt: str, table: str) -> str:
    body = json.dumps({"page": page, "query": query, "format": fmt, "table": table},
                      sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _replay(key: str, digest: str) -> ExportJob | None:
    job = ExportJob.objects.filter(idempotency_key=key).first()
    if job is not None and job.request_hash != digest:
        raise Conflict(
            f"The {KEY_HEADER} {key!r} was already used for another export (job "
            f"{job.public_id}); nothing was created. Use a new key for a new export.",
            fields={KEY_HEADER: ["reused with another request"]},
            code="idempotency_key_reused")
    return job


def _dispatch(job_id: int) -> None:
    from monitoring.tasks import export_job_run as task

    task.delay(job_id)


def _claim(job_id: int) -> bool:
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    claimable = Q(status=ExportJob.Status.QUEUED) | Q(status=ExportJob.Status.RUNNING,
                                                      heartbeat_at__lt=stale)
    changed = (ExportJob.objects.unscoped().filter(claimable, pk=job_id,
                                                   attempts__lt=MAX_ATTEMPTS)
               .update(status=ExportJob.Status.RUNNING, started_at=now, heartbeat_at=now,
                       rows_done=0, error=""))
    if changed:
        ExportJob.objects.unscoped().filter(pk=job_id).update(attempts=F("attempts") + 1)
    return changed == 1


class _Progress:
    def __init__(self, job_id: int) -> None:
        self.job_id, self.last, self.count = job_id, 0.0, 0

    def __call__(self, rows_done: int) -> None:
        self.count = rows_done
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S:
            return
        self.last = now
        ExportJob.objects.unscoped().filter(pk=self.job_id, status=ExportJob.Status.RUNNING
                                            ).update(rows_done=rows_done,
                                                     heartbeat_at=timezone.now())


def export_job_run(*, job_id: int) -> bool:
    """Write the job's file; False when another run has it (or it is finished)."""
    from monitoring.exports.pages import EXTENSIONS, page_export, write_export

    if not _claim(job_id):
        return False
    job = ExportJob.objects.unscoped().select_related("organization", "created_by").get(
        pk=job_id)
    org = job.organization
    progress = _Progress(job.pk)
    try:
        with organization_context(org), timezone.override(org.time_zone):
            export = page_export(page=job.page, query=job.query, organization=org,
                                 user=job.created_by, role=_role(job))
            with tempfile.TemporaryDirectory(prefix="bs-export-") as folder:
                path = Path(folder) / f"export{EXTENSIONS[job.format]}"
                write_export(export, job.format, path, table=job.table, progress=progress)
                with path.open("rb") as fh:
                    job.file.save(export.filename(job.format), File(fh), save=False)
        job.filename = export.filename(job.format)
        _finish(job, ExportJob.Status.DONE, rows=progress.count)
    except ValidationError as exc:
        _finish(job, ExportJob.Status.FAILED, error="The report's parameters are no longer "
                "valid: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in
                                      exc.message_dict.items()))
    except Exception as exc:  # noqa: BLE001 - the job must say why it failed, not hang
        log.exception("export job %s failed", job.pk)
        _finish(job, ExportJob.Status.FAILED,
                error=f"The export failed ({type(exc).__name__}: {str(exc)[:300]}). "
                      "Export again; if it fails again, tell support this job's id.")
    return True


def _role(job: ExportJob) -> str | None:
    if job.created_by_id is None:
        return None
    return (Membership.objects.filter(user_id=job.created_by_id)
            .values_list("role", flat=True).first())


def _finish(job: ExportJob, status: str, *, error: str = "", rows: int | None = None) -> None:
    now = timezone.now()
    fields = {"status": status, "error": error, "finished_at": now, "heartbeat_at": now}
    if status == ExportJob.Status.DONE:
        fields.update(file=job.file.name, filename=job.filename, rows_done=rows or 0,
                      rows_total=rows or 0)
    ExportJob.objects.unscoped().filter(pk=job.pk).update(**fields)


def export_jobs_sweep() -> int:
    """Re-dispatch running jobs whose worker stopped (no heartbeat within the lease); after
    ``MAX_ATTEMPTS`` such stops a job fails with that reason. Returns jobs re-dispatched."""
    stale = timezone.now() - timedelta(seconds=lease_seconds())
    jobs = ExportJob.objects.unscoped()
    jobs.filter(status=ExportJob.Status.RUNNING, heartbeat_at__lt=stale,
                attempts__gte=MAX_ATTEMPTS).update(
        status=ExportJob.Status.FAILED, finished_at=timezone.now(),
        error=f"The worker stopped {MAX_ATTEMPTS} times while writing this export (is it "
              "running out of memory or time?). Export a shorter period or a single table.")
    ids = list(jobs.filter(status=ExportJob.Status.RUNNING, heartbeat_at__lt=stale)
               .values_list("pk", flat=True))
    for job_id in ids:
        _dispatch(job_id)
    return len(ids)


def retention_days() -> int:
    """A finished export (its file and its row) is kept this long, then removed by the beat:
    exports are copies of data the product keeps anyway, and a private file of tenant data
    should not outlive its use on the server's disk."""
    return int(getattr(settings, "EXPORT_RETENTION_DAYS", 7))


def export_jobs_expire(*, now=None) -> int:
    """Delete finished jobs older than :func:`retention_days` and their files; returns how
    many. The file goes first: a row without a file is harmless (its download is a 404), a
    file without a row would be an orphan nobody can see. Batched so a backlog (the beat
    was down for weeks) does not hold one long transaction."""
    cutoff = (now or timezone.now()) - timedelta(days=retention_days())
    jobs = ExportJob.objects.unscoped().filter(
        status__in=(ExportJob.Status.DONE, ExportJob.Status.FAILED), finished_at__lt=cutoff)
    removed = 0
    while batch := list(jobs.values_list("pk", "file")[:500]):
        for _pk, name in batch:
            if name:
                ExportJob.file.field.storage.delete(name)
        removed += ExportJob.objects.unscoped().filter(
            pk__in=[pk for pk, _ in batch]).delete()[0]
    return removed


def stuck_reason(job: ExportJob) -> str:
    """Why a job that is not finished may never finish ("" when all looks well)."""
    now = timezone.now()
    if job.status == ExportJob.Status.QUEUED and now - job.created_at > timedelta(minutes=2):
        return ("No worker has started this export yet: the background worker may not be "
                "running. It starts as soon as one is.")
    if (job.status == ExportJob.Status.RUNNING and job.heartbeat_at is not None
            and now - job.heartbeat_at > timedelta(seconds=lease_seconds())):
        return ("No progress for over "
                f"{lease_seconds() // 60} minutes: the worker writing it seems to have "
                "stopped. It is restarted automatically (at most "
                f"{MAX_ATTEMPTS} times).")
    return ""


def download_refusal(job: ExportJob, *, now: datetime | None = None) -> tuple[str, str] | None:
    """Why the job's file cannot be downloaded now, as (code, sentence), or None when it
    can: not finished yet, failed, past its retention (``expires_at``), or its file gone."""
    if job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
        total = job.rows_total if job.rows_total is not None else "?"
        stuck = stuck_reason(job)
        return ("export_not_ready", f"The export is {job.status} ({job.rows_done} of {total} "
                "rows written); download it when its status is done." + (
                    f" {stuck}" if stuck else ""))
    if job.status == ExportJob.Status.FAILED:
        return "export_failed", f"The export failed, so it has no file: {job.error}"
    if job.expires_at is not None and job.expires_at <= (now or timezone.now()):
        return ("export_expired", f"This export expired at {api_instant(job.expires_at)}: "
                f"files are kept {retention_days()} days after they finish. Create it again.")
    if not job.file or not job.file.storage.exists(job.file.name):
        return ("export_expired", "This export's file is no longer stored (it expired or "
                "was removed). Create it again.")
    return None
