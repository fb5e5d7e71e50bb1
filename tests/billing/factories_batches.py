"""Rows of billing batches and bill runs for one organization (the isolation test uses
them): a batch holding the world's subscription, and a finished run of it with a chunk, a
skipped item and a failed one (each carrying ``world.marker``), written directly — the run
engine is tested on its own; here only rows are needed."""

from __future__ import annotations

from datetime import date

from billing import services
from billing.models import (
    BillRun,
    BillRunChunk,
    BillRunItem,
    BillRunStatus,
    ChunkStatus,
    ItemStatus,
)


def populate(world) -> None:
    m = world.marker
    batch = services.batch_create(name=f"Batch {m}", notes=f"Monthly batch {m}",
                                  schedule_enabled=True)
    sub = world.objects["subscription"]
    services.batch_subscriptions_set(batch=batch, add=[sub])
    run = BillRun.objects.create(batch=batch, period_start=date(2025, 5, 1),
                                 period_end=date(2025, 6, 1), status=BillRunStatus.FAILED,
                                 total_items=1)
    chunk = BillRunChunk.objects.create(run=run, number=1, status=ChunkStatus.DONE,
                                        worker=f"worker {m}")
    item = BillRunItem.objects.create(
        run=run, chunk=chunk, subscription=sub, status=ItemStatus.FAILED, attempts=1,
        error=f"Boom {m}", diagnostics=[{"code": "no_readings", "severity": "error",
                                         "message": f"No readings {m}"}],
    )
    world.objects.update(batch=batch, bill_run=run, bill_run_chunk=chunk, bill_run_item=item)
