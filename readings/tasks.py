"""Background jobs of readings: thin, ids in, one service call."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import OperationalError

from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from readings import partitions, services
from readings.ingest_state import utcnow
from readings.models import Upload


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def upload_process_task(upload_id: int) -> str:
    """Import a CSV upload. The claim makes a re-delivered task a no-op.

    ``upload_process`` ends the upload (done, rejected or failed) whatever the file holds;
    only a transient database error comes out of it, and then the upload is handed back
    (nothing was imported: one transaction) so the retry can claim it. If the retries run
    out, or the worker dies, ``uploads_sweep`` fails it later.
    """
    upload = Upload.objects.unscoped().select_related("organization").get(pk=upload_id)
    with organization_context(upload.organization):
        if not services.upload_claim(upload_id=upload_id):
            return "already claimed"
        upload.refresh_from_db()
        try:
            services.upload_process(upload=upload)
        except OperationalError:
            services.upload_release(upload_id=upload_id)
            raise
        return upload.status


@shared_task
def uploads_sweep() -> int:
    """Every 5 minutes (``CELERY_BEAT_SCHEDULE``): fail uploads stuck pending or processing
    longer than ``UPLOAD_STUCK_AFTER_MINUTES`` (a lost task, a killed worker)."""
    return services.uploads_sweep()


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


@shared_task
def measurement_partitions_ahead() -> list[str]:
    """Daily (scheduled by migration 0006): measurement partitions for this month and the
    next three."""
    from readings.measurements import partitions as measurement_partitions

    return measurement_partitions.ahead(now=utcnow())


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def measurements_downsample() -> dict:
    """Daily (scheduled by migration 0006): raw measurements older than
    ``MEASUREMENT_RAW_DAYS`` become 15-minute min/avg/max rows (idempotent)."""
    from readings.measurements.retention import measurements_downsample as downsample

    result = downsample(now=utcnow())
    return {"cutoff": result.cutoff.isoformat(), "buckets": result.buckets,
            "deleted": result.deleted, "dropped": result.dropped}
