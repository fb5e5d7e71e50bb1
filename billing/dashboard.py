"""Dashboard card of billing: bill runs (the latest one, a live run's progress, drafts
waiting for a manager's review)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from billing.models import BillRun, BillRunStatus, Invoice, InvoiceStatus
from billing.selectors.runs import bill_run_progress
from billspree.core import timefmt
from billspree.core.dashboard import Card

LIVE = (BillRunStatus.QUEUED, BillRunStatus.RUNNING, BillRunStatus.ISSUING)


def cards(request: HttpRequest) -> list[Card]:
    live = BillRun.objects.filter(status__in=LIVE).select_related("batch").first()
    if live is not None:
        progress = bill_run_progress(live)
        return [Card(label="Bill runs", value=f"{progress['percent']}%",
                     foot=f"{live.batch.name}: {progress['done']} of {progress['total']} done",
                     url=reverse("billing:run_detail", args=[live.public_id]), tone="amber")]
    drafts = Invoice.objects.filter(bill_run__isnull=False, status=InvoiceStatus.DRAFT).count()
    last = BillRun.objects.select_related("batch").first()
    if drafts:
        return [Card(label="Bill runs", value=drafts, foot="run drafts waiting for review",
                     url=reverse("billing:run_list") + "?status=review", tone="amber")]
    if last is None:
        return [Card(label="Bill runs", value="—", foot="No run yet: set up a billing batch",
                     url=reverse("billing:batch_list"))]
    tone = {BillRunStatus.FAILED: "red", BillRunStatus.COMPLETED: "green"}.get(last.status, "")
    return [Card(label="Bill runs", value=last.get_status_display(),
                 foot=f"Last: {last.batch.name}, "
                      f"{timefmt.format_period(last.period_start, last.period_end)}",
                 url=reverse("billing:run_detail", args=[last.public_id]), tone=tone)]
