"""Background jobs of readings: thin, ids in, one service call."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import OperationalError

from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from readings import partitions, services
from readings.ingest import utcnow
from readings.models import Upload


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def upload_process_task(upload_id: int) -> str:
    """Import a CSV upload. The claim makes a re-delivered task a no-op."""
    upload = Upload.objects.unscoped().select_related("organization").get(pk=upload_id)
    with organization_context(upload.organization):
        if not services.upload_claim(upload_id=upload_id):
            return "already claimed"
        upload.refresh_from_db()
        try:
            _count_rows(upload)
            services.upload_process(upload=upload)
        except Exception:
            # Nothing was imported (one transaction); hand the upload back so a retry runs.
            Upload.objects.filter(pk=upload_id).update(status=Upload.Status.PENDING)
            raise
        return upload.status


def _count_rows(upload: Upload) -> None:
    """Total lines, for the progress bar (a fast byte scan; the file is read again anyway)."""
    with upload.file.open("rb") as f:
        total = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    Upload.objects.filter(pk=upload.pk).update(rows_total=max(total - 1, 0))
    upload.rows_total = max(total - 1, 0)


@shared_task
def partitions_ahead() -> list[str]:
    """Daily (scheduled by migration 0001): partitions for this month and the next three."""
    created = partitions.partitions_ahead(now=utcnow())
    return [partitions.partition_name(*m) for m in created]


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rollups_rebuild_task(
    organization_id: int, first: str, last: str, meter_ids: list[int] | None = None
) -> int:
    """Recompute the consumption rollups of [first, last] (ISO local dates) of an
    organization's meters (all, or ``meter_ids``); queued by ingestion for old days."""
    org = Organization.objects.get(pk=organization_id)
    with organization_context(org):
        return services.consumption_rollups_rebuild(
            first=date.fromisoformat(first), last=date.fromisoformat(last), meter_ids=meter_ids
        )
