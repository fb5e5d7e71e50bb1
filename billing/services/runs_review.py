"""Bill runs, how they end: settle a run whose chunks are all done, issue its drafts, cancel it.

Split out of ``billing/services/runs.py`` (which still re-exports ``bill_run_issue`` and
``bill_run_cancel``) because this is the half that takes the run row ``FOR UPDATE`` and decides
its final status (review, completed, failed, cancelled). The chunk half
(``billing.services.runs_chunks``) settles the run after its last chunk, and a resume settles a
run that was never settled; both import from here, and this module imports neither of them,
so there is no import cycle.

Issuing is set-based and gapless: the invoice sequence row is locked once, N numbers are taken
in property / billing point order, one UPDATE issues the drafts (see ``_issue``). The lock
order of the whole bill run (run row first, then chunk / item / invoice rows) is described in
``billing/services/runs.py``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from billing.models import (
    Adjustment,
    BilledPeriod,
    BillRun,
    BillRunItem,
    BillRunStatus,
    ChunkStatus,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    ItemStatus,
)
from billing.services.numbering import invoice_payment_reference, sequence_locked
from billspree.core.errors import Conflict
from billspree.core.ledger_hooks import announce_issued
from billspree.core.services import audit_record

#: Runs whose chunks may still be processed.
LIVE = (BillRunStatus.QUEUED, BillRunStatus.RUNNING)


# --- settling -------------------------------------------------------------------------------


def final_status(run: BillRun) -> str:
    if BillRunItem.objects.filter(run=run, status=ItemStatus.FAILED).exists():
        return BillRunStatus.FAILED
    if Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT).exists():
        return BillRunStatus.REVIEW
    return BillRunStatus.COMPLETED


def locked_run(run: BillRun) -> BillRun:
    return BillRun.objects.select_related("batch").select_for_update(of=("self",)).get(
        pk=run.pk
    )


@transaction.atomic
def settle(run: BillRun) -> BillRun:
    """Once every chunk is done: issue the drafts of an auto-issue run, and set the final
    status (failed if any item failed; the others' invoices stay valid)."""
    run = locked_run(run)
    if run.status not in LIVE or run.chunks.exclude(status=ChunkStatus.DONE).exists():
        return run
    if run.auto_issue:  # a draft made stale meanwhile waits for review
        drafts = Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT, stale_reason="")
        if drafts.exists():
            _issue(run, drafts, actor=None, api_key=None)
    run.status = final_status(run)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    audit_record(action="bill_run.finish", target=str(run.public_id),
                 detail={"status": run.status})
    return run


# --- issue and cancel ---------------------------------------------------------------------


def _issue(run: BillRun, drafts, *, actor, api_key) -> list[Invoice]:
    """Number and issue ``drafts`` set-based: the sequence row locked once, N numbers taken
    in property / billing point order, one UPDATE; then their statements."""
    rows = list(drafts.select_for_update(of=("self",)).order_by(
        "billing_point__property__name", "billing_point__name", "pk"
    ))
    if not rows:
        return []
    stale = [r for r in rows if r.stale_reason]
    if stale:
        from billing.services.recompute import stale_conflict

        raise stale_conflict(stale)
    sequence = sequence_locked(DocumentKind.INVOICE)
    first = sequence.next_number
    type(sequence).objects.filter(pk=sequence.pk).update(next_number=first + len(rows))
    now = timezone.now()
    numbers = [sequence.format(first + n) for n in range(len(rows))]
    references = [invoice_payment_reference(sequence_number=first + n, number=number,
                                            currency=inv.currency)
                  for n, (inv, number) in enumerate(zip(rows, numbers, strict=True))]
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE billing_invoice i SET status = 'issued', number = v.number, "
            "payment_reference = v.reference, issued_at = %s "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, number, reference) "
            "WHERE i.id = v.id AND i.status = 'draft'",
            [now, [r.pk for r in rows], numbers, references],
        )
        if cur.rowcount != len(rows):
            raise Conflict("Some drafts changed meanwhile; nothing was issued. Try again.")
    for inv, number, reference in zip(rows, numbers, references, strict=True):
        inv.status, inv.number, inv.issued_at = InvoiceStatus.ISSUED, number, now
        inv.payment_reference = reference
    audit_record(action="bill_run.issue", actor=actor, api_key=api_key,
                 target=str(run.public_id),
                 detail={"invoices": len(rows), "first": numbers[0], "last": numbers[-1]})
    announce_issued(invoices=rows, actor=actor, api_key=api_key)
    from billing.services.statements import statements_after_issue

    statements_after_issue(invoices=rows, send=run.send_statements, actor=actor)
    return rows


@transaction.atomic
def bill_run_issue(
    *, run: BillRun, invoices: list[Invoice] | None = None, actor=None, api_key=None,
) -> list[Invoice]:
    """Issue all the run's drafts, or the chosen ones (gapless numbers, in property and
    billing point order). The run is completed when no draft (and no failed item) remains."""
    run = locked_run(run)
    if run.status in LIVE:
        raise Conflict("The run is still billing; issue its drafts once it has finished.")
    if run.status == BillRunStatus.CANCELLED:
        raise Conflict("The run is cancelled: its drafts were voided.")
    drafts = Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT)
    if invoices is not None:
        wanted = {inv.pk for inv in invoices}
        if not wanted:
            raise ValidationError({"invoices": ["Choose at least one draft to issue."]})
        found = set(drafts.filter(pk__in=wanted).values_list("pk", flat=True))
        if found != wanted:
            raise ValidationError({"invoices": [
                f"{len(wanted - found)} of the chosen invoices are not drafts of this run."
            ]})
        drafts = drafts.filter(pk__in=wanted)
    issued = _issue(run, drafts, actor=actor, api_key=api_key)
    run.status = final_status(run)
    run.save(update_fields=["status"])
    return issued


@transaction.atomic
def bill_run_cancel(*, run: BillRun, actor=None, api_key=None) -> BillRun:
    """Cancel a run before any of its invoices is issued: its drafts are voided (their
    consumption can be billed again), its remaining chunks closed; a new run of the period
    may start."""
    run = locked_run(run)
    if run.status == BillRunStatus.CANCELLED:
        return run
    if Invoice.objects.filter(bill_run=run).exclude(
        status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID]
    ).exists():
        raise Conflict("Invoices of this run are issued already: a run is cancelled only "
                       "before issuing (credit the issued invoices instead).")
    now = timezone.now()
    ids = list(Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT)
               .values_list("pk", flat=True))
    Invoice.objects.filter(pk__in=ids).update(status=InvoiceStatus.VOID, voided_at=now)
    BilledPeriod.objects.filter(invoice_id__in=ids).update(active=False)
    Adjustment.objects.filter(invoice_id__in=ids).update(invoice=None)
    run.chunks.exclude(status=ChunkStatus.DONE).update(
        status=ChunkStatus.DONE, lease_until=None, finished_at=now
    )
    run.status = BillRunStatus.CANCELLED
    run.finished_at = now
    run.save(update_fields=["status", "finished_at"])
    audit_record(action="bill_run.cancel", actor=actor, api_key=api_key,
                 target=str(run.public_id), detail={"voided": len(ids)})
    return run


__all__: list[Any] = ["LIVE", "bill_run_cancel", "bill_run_issue"]
