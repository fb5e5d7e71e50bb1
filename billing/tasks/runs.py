"""Celery tasks: bill runs. Thin: take ids, load (unscoped, to learn the organization),
call one service inside that organization's context.

``bill_run_chunk`` may be delivered twice (a re-dispatch by the sweep, a redelivered
message): the service claims the chunk first and stops if it is not free.
``bill_runs_sweep`` runs every minute (``CELERY_BEAT_SCHEDULE`` in settings) and resumes
runs that stopped moving (a worker killed mid-chunk).
"""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.db import OperationalError

from billing.models import BillingBatch, BillRunChunk
from billspree.core.scoping import organization_context

__all__ = ["bill_run_chunk", "bill_run_scheduled", "bill_runs_sweep"]


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3,
             acks_late=True)
def bill_run_chunk(chunk_id: int) -> bool:
    from billing.services.runs import bill_run_process_chunk

    chunk = BillRunChunk.objects.unscoped().select_related("organization").filter(
        pk=chunk_id
    ).first()
    if chunk is None:
        return False
    with organization_context(chunk.organization):
        return bill_run_process_chunk(chunk_id=chunk_id, worker=_worker_name())


@shared_task(acks_late=True)
def bill_run_scheduled(batch_id: int) -> str:
    """Beat's task for a batch's schedule: start the run of the period that just ended."""
    from billing.services.runs import bill_run_scheduled_start

    batch = BillingBatch.objects.unscoped().select_related("organization").filter(
        pk=batch_id
    ).first()
    if batch is None:
        return "gone"
    with organization_context(batch.organization):
        run = bill_run_scheduled_start(batch=batch)
    return str(run.public_id) if run else "nothing to bill"


@shared_task
def bill_runs_sweep() -> int:
    """Every minute: re-dispatch the chunks of runs that stopped moving; how many."""
    from billing.services.runs import bill_run_resume, stalled_runs

    queued = 0
    for run in stalled_runs():
        with organization_context(run.organization):
            queued += bill_run_resume(run=run)
    return queued
