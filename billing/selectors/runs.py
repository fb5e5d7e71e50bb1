"""Read queries of bill runs: the run of a period (starting one, the portal's
confirmation), progress (the status endpoint, the portal's bar) and the run report."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from billing.models import (
    BillingBatch,
    BillRun,
    BillRunChunk,
    BillRunItem,
    BillRunStatus,
    ChunkStatus,
    ItemStatus,
)


def bill_run_for_period(
    *, batch: BillingBatch, period_start: date, period_end: date
) -> BillRun | None:
    """The batch's run of exactly this period that is not cancelled (a period is billed by
    one run at a time), or None."""
    return BillRun.objects.filter(
        batch=batch, period_start=period_start, period_end=period_end
    ).exclude(status=BillRunStatus.CANCELLED).first()


def bill_run_progress(run: BillRun) -> dict[str, Any]:
    """Counts of the run's items by outcome, its invoices and chunks: two queries."""
    by = {s: Count("pk", filter=Q(status=s)) for s in ItemStatus.values}
    items = BillRunItem.objects.filter(run=run).aggregate(
        total=Count("pk"), invoices=Sum("invoice_count"), **by
    )
    chunks = BillRunChunk.objects.filter(run=run).aggregate(
        chunks_total=Count("pk"), chunks_done=Count("pk", filter=Q(status=ChunkStatus.DONE)),
    )
    total = items["total"] or run.total_items
    pending = items[ItemStatus.PENDING]
    done = total - pending
    return {
        "total": total, "done": done, "created": items[ItemStatus.CREATED],
        "skipped": items[ItemStatus.SKIPPED], "failed": items[ItemStatus.FAILED],
        "pending": pending, "invoices": items["invoices"] or 0,
        "percent": int(done * 100 / total) if total else 100,
        "status": run.status, **chunks,
    }


def bill_run_items(*, run: BillRun, status: str | None = None) -> QuerySet[BillRunItem]:
    """The run report: items with their subscription and billing point."""
    qs = BillRunItem.objects.filter(run=run).select_related(
        "subscription__billing_point__property"
    ).order_by("pk")
    return qs.filter(status=status) if status else qs
