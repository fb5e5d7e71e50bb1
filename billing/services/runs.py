"""Bill runs: start, process chunks, resume, retry, issue, cancel.

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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing import engine
from billing.models import (
    BilledPeriod,
    BillingBatch,
    BillRun,
    BillRunChunk,
    BillRunItem,
    BillRunStatus,
    ChunkStatus,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    ItemStatus,
    Subscription,
)
from billing.selectors.batches import batch_subscriptions_for_period
from billing.services.invoices import _check_period, _sequence_locked, _write_drafts
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record

log = logging.getLogger(__name__)

#: Runs whose chunks may still be processed.
LIVE = (BillRunStatus.QUEUED, BillRunStatus.RUNNING)
#: A chunk claimed this many times never finished (its worker died each time, e.g. out of
#: memory): its items are failed instead of killing yet another worker; retry them alone.
MAX_CHUNK_ATTEMPTS = 5


def chunk_size() -> int:
    return int(getattr(settings, "BILL_RUN_CHUNK_SIZE", 200))


def lease_seconds() -> int:
    return int(getattr(settings, "BILL_RUN_LEASE_SECONDS", 300))


def _organization_today() -> date:
    return timezone.localdate(timezone=require_organization().time_zone)


def _dispatch(chunk_ids: list[int]) -> None:
    """Queue one task per chunk once the surrounding transaction commits."""
    if not chunk_ids:
        return

    def send() -> None:
        from billing.tasks.runs import bill_run_chunk

        for pk in chunk_ids:
            bill_run_chunk.delay(pk)

    transaction.on_commit(send)


# --- start ----------------------------------------------------------------------------------


def _live_run(batch: BillingBatch, start: date, end: date) -> BillRun | None:
    return BillRun.objects.filter(batch=batch, period_start=start, period_end=end).exclude(
        status=BillRunStatus.CANCELLED
    ).first()


def _resolve_period(batch: BillingBatch, start: date | None, end: date | None):
    if start is None and end is None:
        from billing.services.batches import batch_period

        return batch_period(batch=batch, on=_organization_today())
    if start is None or end is None:
        missing = "period_start" if start is None else "period_end"
        raise ValidationError({missing: ["Give both ends of the period, or neither (the last "
                                         "complete period of the batch is billed)."]})
    try:
        _check_period(start, end)
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
    existing = _live_run(batch, start, end)
    if existing is not None:
        existing.created_now = False
        return existing
    try:
        with transaction.atomic():
            run = _create_run(batch, start, end, trigger, actor, api_key)
    except IntegrityError:
        existing = _live_run(batch, start, end)
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
            f"No subscription of “{batch.name}” is in effect between {start:%Y-%m-%d} and "
            f"{end - timedelta(days=1):%Y-%m-%d}: add subscriptions to the batch first."
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


# --- processing -----------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: str
    invoice_count: int = 0
    diagnostics: list[dict[str, str]] = field(default_factory=list)
    error: str = ""


def _claim(chunk_id: int, worker: str) -> int | None:
    """Take the chunk if it is pending or its lease ran out; the new attempt number, or
    None when another worker holds it (or it is done)."""
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE billing_billrunchunk SET status = 'running', lease_until = %s, "
            "worker = %s, attempts = attempts + 1 WHERE id = %s AND organization_id = %s "
            "AND (status = 'pending' OR (status = 'running' AND lease_until < %s)) "
            "RETURNING attempts",
            [now + timedelta(seconds=lease_seconds()), worker[:200], chunk_id,
             require_organization().pk, now],
        )
        row = cur.fetchone()
    return row[0] if row else None


def _hold(run_id: int, chunk_id: int, attempt: int) -> bool:
    """Inside the chunk's transaction: share-lock the run, lock the chunk, and check that
    this attempt still owns it (a lease that ran out may have been re-claimed). A chunk of
    a cancelled run is closed without billing."""
    with connection.cursor() as cur:
        cur.execute("SELECT status FROM billing_billrun WHERE id = %s FOR SHARE", [run_id])
        run_status = cur.fetchone()[0]
    owned = BillRunChunk.objects.select_for_update().filter(
        pk=chunk_id, status=ChunkStatus.RUNNING, attempts=attempt
    ).exists()
    if owned and run_status == BillRunStatus.CANCELLED:
        _chunk_done(chunk_id)
        return False
    return owned


def _chunk_done(chunk_id: int) -> None:
    BillRunChunk.objects.filter(pk=chunk_id).update(
        status=ChunkStatus.DONE, lease_until=None, finished_at=timezone.now()
    )


def _subscriptions(ids) -> list[Subscription]:
    return list(Subscription.objects.filter(pk__in=ids).select_related(
        "billing_point__property"
    ).order_by("pk"))


def _diag(d: engine.Diagnostic, tenant=None) -> dict[str, str]:
    out = d.as_dict()
    if tenant is not None:
        out["tenant"] = str(tenant)
    return out


def _bill(run: BillRun, items: list[BillRunItem]) -> dict[int, _Outcome]:
    """Compute and write the drafts of ``items`` (one engine pass, three INSERTs); the
    outcome of each item. Invoices this run already holds for a subscription (a chunk
    redone after a crash, a retried item) count as created."""
    subs = _subscriptions([i.subscription_id for i in items])
    preview = engine.compute(subscriptions=subs, start=run.period_start, end=run.period_end)
    billable = [d for d in preview.invoices if d.can_bill]
    if billable:
        _write_drafts(require_organization(), billable, bill_run=run)
    held = _run_invoice_counts(run, [s.pk for s in subs])
    diags: dict[int, list[dict[str, str]]] = {}
    for d in preview.invoices:
        diags.setdefault(d.subscription.pk, []).extend(_diag(x, d.tenant) for x in d.diagnostics)
    out = {}
    for item in items:
        found = diags.get(item.subscription_id, [])
        count = held.get(item.subscription_id, 0)
        if count:
            found = [d for d in found if d["code"] != "already_invoiced"]
            out[item.pk] = _Outcome(ItemStatus.CREATED, count, found)
        else:
            out[item.pk] = _Outcome(ItemStatus.SKIPPED, 0, found or _nothing(preview))
    return out


def _nothing(preview: engine.Preview) -> list[dict[str, str]]:
    return [_diag(d) for d in preview.diagnostics] or [{
        "code": "nothing_to_bill", "severity": "error",
        "message": "Nothing to bill for this subscription in the period.",
    }]


def _run_invoice_counts(run: BillRun, sub_ids: list[int]) -> dict[int, int]:
    from django.db.models import Count

    rows = Invoice.objects.filter(bill_run=run, subscription_id__in=sub_ids).exclude(
        status=InvoiceStatus.VOID
    ).values_list("subscription_id").annotate(n=Count("pk"))
    return dict(rows)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, IntegrityError):
        return ("Some of this consumption or period was invoiced meanwhile (another run or "
                f"by hand); nothing was created for it. ({str(exc).strip()[:300]})")
    return f"{type(exc).__name__}: {str(exc).strip()[:500]}"


def _bill_alone(run: BillRun, item: BillRunItem) -> _Outcome:
    """One item in its own savepoint: its failure stays its own."""
    try:
        with transaction.atomic():
            return _bill(run, [item])[item.pk]
    except Exception as exc:  # noqa: BLE001 — any error of one item is that item's outcome
        log.warning("bill run %s: subscription %s failed", run.pk, item.subscription_id,
                    exc_info=True)
        return _Outcome(ItemStatus.FAILED, 0, [], _error_text(exc))


def _record(outcomes: dict[int, _Outcome]) -> None:
    """Every item's outcome in one UPDATE."""
    import json

    if not outcomes:
        return
    ids = list(outcomes)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE billing_billrunitem i SET status = v.status, invoice_count = v.n, "
            "diagnostics = v.diag::jsonb, error = v.err, attempts = i.attempts + 1, "
            "updated_at = now() FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[], "
            "%s::text[]) AS v(id, status, n, diag, err) WHERE i.id = v.id",
            [ids, [outcomes[k].status for k in ids], [outcomes[k].invoice_count for k in ids],
             [json.dumps(outcomes[k].diagnostics) for k in ids],
             [outcomes[k].error for k in ids]],
        )


def _tally(outcomes: dict[int, _Outcome]) -> dict[str, int]:
    tally = dict.fromkeys((ItemStatus.CREATED, ItemStatus.SKIPPED, ItemStatus.FAILED), 0)
    for o in outcomes.values():
        tally[o.status] += 1
    tally["invoices"] = sum(o.invoice_count for o in outcomes.values())
    return tally


def _process(run: BillRun, chunk_id: int, *, alone: bool) -> dict[int, _Outcome]:
    # The chunk's commit need not wait for its WAL flush: a server crash loses the chunk
    # whole (its drafts, items and "done" together), and the lease and sweep redo it.
    with connection.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit TO OFF")
    items = list(BillRunItem.objects.filter(chunk_id=chunk_id, status=ItemStatus.PENDING)
                 .order_by("pk"))
    if alone:
        outcomes = {item.pk: _bill_alone(run, item) for item in items}
    else:
        outcomes = _bill(run, items) if items else {}
    _record(outcomes)
    _chunk_done(chunk_id)
    number = BillRunChunk.objects.filter(pk=chunk_id).values_list("number", flat=True).first()
    audit_record(action="bill_run.chunk", target=str(run.public_id),
                 detail={"chunk": number, **{str(k): v for k, v in _tally(outcomes).items()},
                         "one_by_one": alone})
    return outcomes


def _give_up(run: BillRun, chunk_id: int, attempt: int) -> None:
    error = (f"The worker billing this item's chunk stopped {attempt - 1} times without "
             "finishing (killed or out of memory); retry the item alone.")
    ids = list(BillRunItem.objects.filter(chunk_id=chunk_id, status=ItemStatus.PENDING)
               .values_list("pk", flat=True))
    _record({pk: _Outcome(ItemStatus.FAILED, error=error) for pk in ids})
    _chunk_done(chunk_id)
    audit_record(action="bill_run.chunk_abandoned", target=str(run.public_id),
                 detail={"chunk": chunk_id, "attempts": attempt - 1, "items": len(ids)})


def bill_run_process_chunk(*, chunk_id: int, worker: str = "") -> bool:
    """Claim a chunk and bill it; False when it was not ours to process (another worker
    holds it, it is done, or its run was cancelled).

    The chunk is billed in one transaction; if that fails as a whole (an engine error on
    one subscription, a concurrent run taking some period first), it is redone item by
    item in savepoints so one bad item fails alone, with its error, and the rest bill.
    The last chunk done settles the run (review, auto-issue, failed).
    """
    attempt = _claim(chunk_id, worker)
    if attempt is None:
        return False
    chunk = BillRunChunk.objects.select_related("run").get(pk=chunk_id)
    run = chunk.run
    BillRun.objects.filter(pk=run.pk, status=BillRunStatus.QUEUED).update(
        status=BillRunStatus.RUNNING, started_at=timezone.now()
    )
    if attempt > MAX_CHUNK_ATTEMPTS:
        with transaction.atomic():
            if not _hold(run.pk, chunk_id, attempt):
                return False
            _give_up(run, chunk_id, attempt)
        _settle(run)
        return True
    try:
        with transaction.atomic():
            if not _hold(run.pk, chunk_id, attempt):
                return False
            _process(run, chunk_id, alone=False)
    except Exception:  # noqa: BLE001 — redo one by one, see the docstring
        log.warning("bill run %s chunk %s failed as a whole; redoing item by item", run.pk,
                    chunk.number, exc_info=True)
        with transaction.atomic():
            if not _hold(run.pk, chunk_id, attempt):
                return False
            _process(run, chunk_id, alone=True)
    _settle(run)
    return True


# --- settling -------------------------------------------------------------------------------


def _final_status(run: BillRun) -> str:
    if BillRunItem.objects.filter(run=run, status=ItemStatus.FAILED).exists():
        return BillRunStatus.FAILED
    if Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT).exists():
        return BillRunStatus.REVIEW
    return BillRunStatus.COMPLETED


def _locked_run(run: BillRun) -> BillRun:
    return BillRun.objects.select_related("batch").select_for_update(of=("self",)).get(
        pk=run.pk
    )


@transaction.atomic
def _settle(run: BillRun) -> BillRun:
    """Once every chunk is done: issue the drafts of an auto-issue run, and set the final
    status (failed if any item failed; the others' invoices stay valid)."""
    run = _locked_run(run)
    if run.status not in LIVE or run.chunks.exclude(status=ChunkStatus.DONE).exists():
        return run
    if run.auto_issue:
        drafts = Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT)
        if drafts.exists():
            _issue(run, drafts, actor=None, api_key=None)
    run.status = _final_status(run)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    audit_record(action="bill_run.finish", target=str(run.public_id),
                 detail={"status": run.status})
    return run


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
        _settle(run)
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


# --- retry ----------------------------------------------------------------------------------


@transaction.atomic
def bill_run_item_retry(*, item: BillRunItem, actor=None, api_key=None) -> BillRunItem:
    """Bill a failed (or skipped) item again, alone (after the readings or the tariff were
    fixed). Its run's status follows (a new draft → review)."""
    run = _locked_run(item.run)
    item = BillRunItem.objects.select_for_update(of=("self",)).select_related("chunk").get(
        pk=item.pk
    )
    if run.status == BillRunStatus.CANCELLED:
        raise Conflict("The run is cancelled: start a new run of the period instead.")
    if item.status not in (ItemStatus.FAILED, ItemStatus.SKIPPED):
        raise Conflict(f"This item is {item.get_status_display().lower()}: only failed or "
                       "skipped items are retried.")
    if item.chunk.status != ChunkStatus.DONE:
        raise Conflict("This item's chunk is still being processed; wait for it.")
    outcome = _bill_alone(run, item)
    _record({item.pk: outcome})
    audit_record(action="bill_run.item_retry", actor=actor, api_key=api_key,
                 target=str(run.public_id),
                 detail={"subscription": str(item.subscription_id), "status": outcome.status,
                         "invoices": outcome.invoice_count})
    if run.status not in LIVE:
        run.status = _final_status(run)
        run.save(update_fields=["status"])
    item.refresh_from_db()
    return item


# --- issue and cancel ---------------------------------------------------------------------


def _issue(run: BillRun, drafts, *, actor, api_key) -> list[Invoice]:
    """Number and issue ``drafts`` set-based: the sequence row locked once, N numbers taken
    in property / billing point order, one UPDATE; then their statements."""
    rows = list(drafts.select_for_update(of=("self",)).order_by(
        "billing_point__property__name", "billing_point__name", "pk"
    ))
    if not rows:
        return []
    sequence = _sequence_locked(DocumentKind.INVOICE)
    first = sequence.next_number
    type(sequence).objects.filter(pk=sequence.pk).update(next_number=first + len(rows))
    now = timezone.now()
    numbers = [sequence.format(first + n) for n in range(len(rows))]
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE billing_invoice i SET status = 'issued', number = v.number, issued_at = %s "
            "FROM unnest(%s::bigint[], %s::text[]) AS v(id, number) "
            "WHERE i.id = v.id AND i.status = 'draft'",
            [now, [r.pk for r in rows], numbers],
        )
        if cur.rowcount != len(rows):
            raise Conflict("Some drafts changed meanwhile; nothing was issued. Try again.")
    for inv, number in zip(rows, numbers, strict=True):
        inv.status, inv.number, inv.issued_at = InvoiceStatus.ISSUED, number, now
    audit_record(action="bill_run.issue", actor=actor, api_key=api_key,
                 target=str(run.public_id),
                 detail={"invoices": len(rows), "first": numbers[0], "last": numbers[-1]})
    from billing.services.statements import statements_after_issue

    statements_after_issue(invoices=rows, send=run.send_statements, actor=actor)
    return rows


@transaction.atomic
def bill_run_issue(
    *, run: BillRun, invoices: list[Invoice] | None = None, actor=None, api_key=None,
) -> list[Invoice]:
    """Issue all the run's drafts, or the chosen ones (gapless numbers, in property and
    billing point order). The run is completed when no draft (and no failed item) remains."""
    run = _locked_run(run)
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
    run.status = _final_status(run)
    run.save(update_fields=["status"])
    return issued


@transaction.atomic
def bill_run_cancel(*, run: BillRun, actor=None, api_key=None) -> BillRun:
    """Cancel a run before any of its invoices is issued: its drafts are voided (their
    consumption can be billed again), its remaining chunks closed; a new run of the period
    may start."""
    run = _locked_run(run)
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
    run.chunks.exclude(status=ChunkStatus.DONE).update(
        status=ChunkStatus.DONE, lease_until=None, finished_at=now
    )
    run.status = BillRunStatus.CANCELLED
    run.finished_at = now
    run.save(update_fields=["status", "finished_at"])
    audit_record(action="bill_run.cancel", actor=actor, api_key=api_key,
                 target=str(run.public_id), detail={"voided": len(ids)})
    return run


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
    "bill_run_resume", "bill_run_scheduled_start", "bill_run_start", "stalled_runs",
]
