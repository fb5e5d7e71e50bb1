"""Bill runs: start (by hand or on schedule), resume, and the names of every run service.

The design is in ``billing/models/runs.py``: a run's items (one per subscription) are cut
into chunks; a worker claims a chunk with a conditional UPDATE (the healthchecks
``sendalerts`` pattern: go on only if exactly one row changed) and writes the chunk's
drafts, its items' outcomes, one audit row and the chunk's ``done`` in ONE transaction. A
worker killed mid-chunk leaves the chunk as it was (its lease runs out, the sweep
re-dispatches it, the next claim redoes it). The invoice exclusion constraint (one
non-void invoice per tenant, billing point and period) is the last wall.

Lock order, everywhere: the run row first (``FOR SHARE`` while processing a chunk,
``FOR UPDATE`` to settle, issue, retry or cancel), then chunk / item / invoice rows; so a
cancel never interleaves with a chunk that is writing drafts, and nothing deadlocks.

The services are split in three modules so each stays short; this one imports the other two
and re-exports their public names, so ``billing.services.runs.<name>`` keeps working:

- ``runs`` (here): start a run (items and chunks inserted set-based, chunks queued),
  the scheduled start, resume and the sweep's ``stalled_runs``;
- ``runs_chunks``: claim and process a chunk (leases, one transaction per chunk, item by
  item after a failure), retry one item;
- ``runs_review``: settle a finished run, issue its drafts (gapless numbers), cancel it.

Imports go one way only: ``runs`` → ``runs_chunks`` → ``runs_review``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import BillingBatch, BillRun, BillRunChunk, ChunkStatus
from billing.selectors.batches import batch_subscriptions_for_period
from billing.selectors.runs import bill_run_for_period
from billing.services.invoices import check_period
from billing.services.runs_chunks import (  # noqa: F401 — re-exported, see the docstring
    MAX_CHUNK_ATTEMPTS,
    bill_run_item_retry,
    bill_run_process_chunk,
    bill_run_retry_skipped,
    lease_seconds,
)
from billing.services.runs_review import (  # noqa: F401 — re-exported, see the docstring
    LIVE,
    bill_run_cancel,
    bill_run_issue,
    settle,
)
from billspree.core import timefmt
from billspree.core.queue import enqueue_many_on_commit
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record


def chunk_size() -> int:
    return int(getattr(settings, "BILL_RUN_CHUNK_SIZE", 200))


def _organization_today() -> date:
    return timezone.localdate(timezone=require_organization().time_zone)


def _dispatch(chunk_ids: list[int]) -> None:
    """Queue one task per chunk once the surrounding transaction commits."""
    enqueue_many_on_commit("billing.tasks.runs.bill_run_chunk", [(pk,) for pk in chunk_ids])


# --- start ----------------------------------------------------------------------------------


def _resolve_period(batch: BillingBatch, start: date | None, end: date | None):
    if start is None and end is None:
        from billing.services.batches import batch_period

        return batch_period(batch=batch, on=_organization_today())
    if start is None or end is None:
        missing = "period_start" if start is None else "period_end"
        raise ValidationError({missing: ["Give both ends of the period, or neither (the last "
                                         "complete period of the batch is billed)."]})
    try:
        check_period(start, end)
    except ValidationError as exc:
        raise ValidationError({"period_end": exc.message_dict["end"]}) from None
    return start, end


def bill_run_start(
    *, batch: BillingBatch, period_start: date | None = None, period_end: date | None = None,
    trigger: str, actor=None, api_key=None,
) -> BillRun:
    """Start (or find) the run of ``batch`` for a period; the default period is the batch's
    last complete one in the organization's time zone.

    Idempotent: a live (non-cancelled) run of the batch and period is returned as it is —
    also when a concurrent start wins the race (``bill_run_one_live_per_period``). The
    returned run has ``created_now`` telling which happened.
    """
    start, end = _resolve_period(batch, period_start, period_end)
    existing = bill_run_for_period(batch=batch, period_start=start, period_end=end)
    if existing is not None:
        existing.created_now = False
        return existing
    try:
        with transaction.atomic():
            run = _create_run(batch, start, end, trigger, actor, api_key)
    except IntegrityError:
        existing = bill_run_for_period(batch=batch, period_start=start, period_end=end)
        if existing is None:
            raise
        existing.created_now = False
        return existing
    run.created_now = True
    return run


def _create_run(batch, start, end, trigger, actor, api_key) -> BillRun:
    org = require_organization()
    sub_ids = list(
        batch_subscriptions_for_period(batch=batch, period_start=start, period_end=end)
        .order_by("billing_point__property_id", "billing_point_id", "pk")
        .values_list("pk", flat=True)
    )
    if not sub_ids:
        raise ValidationError({"batch": [
            f"No subscription of “{batch.name}” is in effect in "
            f"{timefmt.format_period(start, end)}: add subscriptions to the batch first."
        ]})
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) \
        and getattr(actor, "api_key", None) is None else None
    run = BillRun.objects.create(
        batch=batch, period_start=start, period_end=end, trigger=trigger, started_by=user,
        auto_issue=batch.auto_issue, send_statements=batch.send_statements,
        total_items=len(sub_ids),
    )
    size = chunk_size()
    chunks = BillRunChunk.objects.bulk_create([
        BillRunChunk(organization=org, run=run, number=n + 1)
        for n in range((len(sub_ids) + size - 1) // size)
    ])
    _insert_items(org, run, sub_ids, size)
    audit_record(action="bill_run.start", actor=actor, api_key=api_key,
                 target=str(run.public_id),
                 detail={"batch": batch.name, "period_start": str(start),
                         "period_end": str(end), "trigger": trigger,
                         "items": len(sub_ids), "chunks": len(chunks)})
    _dispatch([c.pk for c in chunks])
    return run


def _insert_items(org, run: BillRun, sub_ids: list[int], size: int) -> None:
    """One item per subscription, the n-th in chunk ``n // size + 1``: one INSERT … SELECT
    (10,000 items in a fraction of a second, no model instances)."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO billing_billrunitem (organization_id, public_id, run_id, chunk_id, "
            "subscription_id, status, invoice_count, diagnostics, error, attempts, updated_at) "
            "SELECT %s, gen_random_uuid(), %s, c.id, s.id, 'pending', 0, '[]'::jsonb, '', 0, "
            "now() FROM unnest(%s::bigint[]) WITH ORDINALITY AS s(id, n) "
            "JOIN billing_billrunchunk c ON c.run_id = %s AND c.number = (s.n - 1) / %s + 1",
            [org.pk, run.pk, sub_ids, run.pk, size],
        )


# --- resume -------------------------------------------------------------------------------


def bill_run_resume(*, run: BillRun) -> int:
    """Re-dispatch the run's chunks that are pending or whose lease ran out (a worker died);
    how many. A run whose chunks are all done but which was never settled is settled."""
    if run.status not in LIVE:
        return 0
    now = timezone.now()
    ids = list(BillRunChunk.objects.filter(run=run).filter(
        Q(status=ChunkStatus.PENDING) | Q(status=ChunkStatus.RUNNING, lease_until__lt=now)
    ).order_by("number").values_list("pk", flat=True))
    if ids:
        with transaction.atomic():
            _dispatch(ids)
    elif not run.chunks.exclude(status=ChunkStatus.DONE).exists():
        settle(run)
    return len(ids)


def stalled_runs():
    """Live runs with no progress for a lease's time: nothing finished lately and no live
    lease (a dead worker's chunk, a lost message). Across organizations (the sweep)."""
    since = timezone.now() - timedelta(seconds=lease_seconds())
    busy = BillRunChunk.objects.unscoped().filter(
        Q(finished_at__gt=since) | Q(status=ChunkStatus.RUNNING, lease_until__gte=timezone.now())
    ).values("run_id")
    return BillRun.objects.unscoped().filter(status__in=LIVE, created_at__lt=since).exclude(
        pk__in=busy
    ).select_related("organization")


def bill_run_scheduled_start(*, batch: BillingBatch) -> BillRun | None:
    """The scheduled start: the period that has just ended; a batch with nothing to bill
    is recorded and left alone (None)."""
    try:
        return bill_run_start(batch=batch, trigger="schedule")
    except ValidationError as exc:
        audit_record(action="bill_run.skip", target=str(batch.public_id),
                     detail={"reason": "; ".join(m for ms in exc.message_dict.values()
                                                 for m in ms)})
        return None


__all__: list[Any] = [
    "bill_run_cancel", "bill_run_issue", "bill_run_item_retry", "bill_run_process_chunk",
    "bill_run_resume", "bill_run_retry_skipped", "bill_run_scheduled_start", "bill_run_start",
    "stalled_runs",
]
