"""Dashboard cards of billing: this month's billed amount (per currency), bill runs (a live
run's progress, runs waiting for review, the latest one); the billing steps of the
getting-started checklist; billing events in words with links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from billing.models import (
    BillingBatch,
    BillRun,
    BillRunStatus,
    CreditNote,
    Invoice,
    InvoiceStatus,
    Subscription,
)
from billing.selectors.runs import bill_run_progress
from billspree.core import timefmt
from billspree.core.dashboard import Activity, Card, Step, amount, by_action, count

LIVE = (BillRunStatus.QUEUED, BillRunStatus.RUNNING, BillRunStatus.ISSUING)
BILLED = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)


def _month_start(request: HttpRequest) -> datetime:
    zone = timefmt.zone(request.organization)
    return timefmt.month_start(timezone.localdate(timezone=zone), zone)


def billed_this_month(request: HttpRequest) -> Card:
    start = _month_start(request)
    rows = list(Invoice.objects.filter(status__in=BILLED, issued_at__gte=start)
                .values("currency").annotate(total=Sum("total"), n=Count("pk"))
                .order_by("-total"))
    month = timefmt.month_name(start.date(), "long") + f" {start.year}"
    if not rows:
        return Card(label="Billed this month", value="—",
                    foot=f"No invoice issued in {month} yet",
                    url=reverse("billing:index") + "?status=issued")
    values = [f"{amount(r['total'] or Decimal(0))} {r['currency']}" for r in rows]
    n = sum(r["n"] for r in rows)
    return Card(label="Billed this month", value=values[0], lines=tuple(values[1:]),
                foot=f"{n} invoice{'s' if n != 1 else ''} issued in {month}",
                url=reverse("billing:index") + "?status=issued")


def runs_card(request: HttpRequest) -> Card:
    counts = BillRun.objects.aggregate(
        review=Count("pk", filter=Q(status=BillRunStatus.REVIEW)),
        live=Count("pk", filter=Q(status__in=LIVE)),
    )
    if counts["review"]:
        more = " · a run in progress" if counts["live"] else ""
        return Card(label="Runs awaiting review", value=counts["review"],
                    foot=f"Drafts to check and issue{more}",
                    url=reverse("billing:run_list") + "?status=review", tone="amber")
    if counts["live"]:
        live = BillRun.objects.filter(status__in=LIVE).select_related("batch").first()
        progress = bill_run_progress(live)
        return Card(label="Bill run in progress", value=f"{progress['percent']}%",
                    foot=f"{live.batch.name}: {progress['done']} of {progress['total']} done",
                    url=reverse("billing:run_detail", args=[live.public_id]), tone="amber")
    last = BillRun.objects.select_related("batch").first()
    if last is None:
        return Card(label="Runs awaiting review", value=0,
                    foot="No run yet: set up a billing batch", url=reverse("billing:batch_list"))
    when = timefmt.format_period(last.period_start, last.period_end)
    url = reverse("billing:run_detail", args=[last.public_id])
    if last.status == BillRunStatus.FAILED:
        return Card(label="Last bill run", value="With failures", tone="red", url=url,
                    foot=f"{last.batch.name}, {when}: see what failed and retry")
    return Card(label="Runs awaiting review", value=0, url=url,
                foot=f"Last run: {last.batch.name}, {when}, "
                     f"{last.get_status_display().lower()}")


def cards(request: HttpRequest) -> list[Card]:
    return [billed_this_month(request), runs_card(request)]


def setup_steps(request: HttpRequest) -> list[Step]:
    subs = Subscription.objects.count()
    batches = BillingBatch.objects.count()
    runs = BillRun.objects.exclude(status=BillRunStatus.CANCELLED).count()
    return [
        Step(70, "Put billing points on a plan (subscriptions) in a billing batch",
             bool(subs and batches), reverse("billing:subscription_list") if not subs
             else reverse("billing:batch_list"),
             f"{count(subs, 'subscription')}, {count(batches, 'batch', 'batches')}"
             if subs or batches else ""),
        Step(80, "Run billing and send statements", runs > 0, reverse("billing:run_list"),
             count(runs, "run") if runs else ""),
    ]


# --- recent activity ----------------------------------------------------------------------

INVOICE_VERBS = {
    "invoice.issue": "issued invoice", "invoice.void": "voided invoice",
    "invoice.mark_paid": "marked as paid invoice", "invoice.create_draft": "drafted invoice",
    "invoice.recompute": "recomputed invoice", "invoice.line_add": "added a line to invoice",
    "invoice.line_remove": "removed a line from invoice", "invoice.stale": "found stale invoice",
    "statement.regenerate": "regenerated the statement of invoice",
    "billing.adjustment.rebill": "re-billed invoice",
}
RUN_VERBS = {
    "bill_run.start": "started the bill run", "bill_run.issue": "issued the bill run",
    "bill_run.cancel": "cancelled the bill run", "bill_run.finish": "finished the bill run",
    "bill_run.item_retry": "retried a subscription of the bill run",
}


def _uuid(value: str):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def describe(events: Sequence) -> dict[int, Activity]:
    """Invoices, credit notes and runs are named by public id in the events; one query per
    kind turns them into numbers, tenants and batches with links."""
    invoice_events = [e for e in by_action(events, "invoice.", "statement.", "billing.")
                      if e.action in INVOICE_VERBS]
    note_events = by_action(events, "credit_note.")
    run_events = [e for e in by_action(events, "bill_run.") if e.action in RUN_VERBS]
    ids = {_uuid(e.target) for e in invoice_events} - {None}
    numbers = {e.target for e in invoice_events if _uuid(e.target) is None}
    invoices = {}
    if ids or numbers:
        for inv in Invoice.objects.filter(Q(public_id__in=ids) | Q(number__in=numbers)
                                          if numbers else Q(public_id__in=ids)) \
                .select_related("tenant", "billing_point").only(
                    "public_id", "number", "status", "tenant__name", "billing_point__name"):
            invoices[str(inv.public_id)] = invoices[inv.number or "-"] = inv
    runs = {str(r.public_id): r for r in BillRun.objects.filter(
        public_id__in={_uuid(e.target) for e in run_events} - {None}).select_related("batch")} \
        if run_events else {}
    notes = {str(n.public_id): n for n in CreditNote.objects.filter(
        public_id__in={_uuid(e.target) for e in note_events} - {None})} if note_events else {}
    out: dict[int, Activity] = _batches(events)
    for e in invoice_events:
        inv = invoices.get(e.target)
        if inv is None:
            continue
        name = inv.number or "draft"
        out[e.pk] = Activity(INVOICE_VERBS[e.action], name,
                             reverse("billing:invoice_detail", args=[inv.public_id]),
                             f"for {inv.billing_point.name} ({inv.tenant.name})")
    for e in run_events:
        run = runs.get(e.target)
        if run is None:
            continue
        out[e.pk] = Activity(RUN_VERBS[e.action], run.batch.name,
                             reverse("billing:run_detail", args=[run.public_id]),
                             timefmt.format_period(run.period_start, run.period_end))
    for e in note_events:
        note = notes.get(e.target)
        d = e.detail if isinstance(e.detail, dict) else {}
        if note is None:
            continue
        out[e.pk] = Activity("created credit note", note.number or "draft",
                             reverse("billing:credit_note_detail", args=[note.public_id]),
                             f"on invoice {d.get('invoice', '')}".strip())
    return out


BATCH_VERBS = {"batch.create": "created billing batch", "batch.update": "changed billing batch",
               "batch.delete": "deleted billing batch",
               "batch.subscriptions": "changed the subscriptions of billing batch"}


def _batches(events: Sequence) -> dict[int, Activity]:
    ours = [e for e in by_action(events, "batch.") if e.action in BATCH_VERBS]
    if not ours:
        return {}
    ids = dict(BillingBatch.objects.filter(name__in={e.target for e in ours})
               .values_list("name", "public_id"))
    return {e.pk: Activity(BATCH_VERBS[e.action], e.target,
                           reverse("billing:batch_detail", args=[ids[e.target]])
                           if e.target in ids and e.action != "batch.delete" else "")
            for e in ours}
