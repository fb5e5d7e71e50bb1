"""Bill runs, the work itself: claim a chunk, bill its items, record their outcomes; retry one
item alone.

Split out of ``billing/services/runs.py`` (which still re-exports ``bill_run_process_chunk``,
``bill_run_item_retry`` and ``MAX_CHUNK_ATTEMPTS``) because this is the half that runs inside
a worker, one chunk at a time. A worker claims a chunk with a conditional UPDATE (the
healthchecks ``sendalerts`` pattern: go on only if exactly one row changed) and writes the
chunk's drafts, its items' outcomes, one audit row and the chunk's ``done`` in ONE transaction,
holding the run row ``FOR SHARE``. A worker killed mid-chunk leaves the chunk as it was (its
lease runs out, the sweep re-dispatches it, the next claim redoes it).

The last chunk done settles the run: ``settle`` and the run-row helpers come from
``billing.services.runs_review``, which imports nothing from here (no import cycle).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing import engine
from billing.models import (
    BillRun,
    BillRunChunk,
    BillRunItem,
    BillRunStatus,
    ChunkStatus,
    Invoice,
    InvoiceStatus,
    ItemStatus,
    Subscription,
)
from billing.services.invoice_rows import write_drafts
from billing.services.runs_review import LIVE, final_status, locked_run, settle
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record

# The bill run's log keeps the name it had before the split.
log = logging.getLogger("billing.services.runs")

#: A chunk claimed this many times never finished (its worker died each time, e.g. out of
#: memory): its items are failed instead of killing yet another worker; retry them alone.
MAX_CHUNK_ATTEMPTS = 5


def lease_seconds() -> int:
    return int(getattr(settings, "BILL_RUN_LEASE_SECONDS", 300))


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
        out["tenant_id"] = str(tenant.public_id)
    return out


def _bill(run: BillRun, items: list[BillRunItem]) -> dict[int, _Outcome]:
    """Compute and write the drafts of ``items`` (one engine pass, three INSERTs); the
    outcome of each item. Invoices this run already holds for a subscription (a chunk
    redone after a crash, a retried item) count as created."""
    subs = _subscriptions([i.subscription_id for i in items])
    preview = engine.compute(subscriptions=subs, start=run.period_start, end=run.period_end)
    billable = [d for d in preview.invoices if d.can_bill]
    if billable:
        write_drafts(require_organization(), billable, bill_run=run)
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
        settle(run)
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
    settle(run)
    return True


# --- retry ----------------------------------------------------------------------------------


@transaction.atomic
def bill_run_item_retry(*, item: BillRunItem, actor=None, api_key=None) -> BillRunItem:
    """Bill a failed (or skipped) item again, alone (after the readings or the tariff were
    fixed). Its run's status follows (a new draft → review)."""
    run = locked_run(item.run)
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
        run.status = final_status(run)
        run.save(update_fields=["status"])
    item.refresh_from_db()
    return item


@transaction.atomic
def bill_run_retry_skipped(*, run: BillRun, actor=None, api_key=None) -> dict[str, int]:
    """Bill the run's skipped items again (after the readings, meters or tariff were
    fixed): one engine pass, the drafts added to this run; item by item if that pass fails.
    Idempotent: invoiced items are left alone, a subscription this run (or anyone) already
    invoiced for the period gets nothing new, and a second call finds nothing to do. The
    run's status follows (new drafts → review). Returns the tally
    (``created``/``skipped``/``failed``/``invoices``)."""
    run = locked_run(run)
    if run.status == BillRunStatus.CANCELLED:
        raise Conflict("The run is cancelled: start a new run of the period instead.")
    items = list(BillRunItem.objects.select_for_update(of=("self",)).filter(
        run=run, status=ItemStatus.SKIPPED, chunk__status=ChunkStatus.DONE).order_by("pk"))
    if not items:
        raise Conflict("No skipped subscription is left to retry in this run.")
    try:
        with transaction.atomic():
            outcomes = _bill(run, items)
    except Exception:  # noqa: BLE001 — one bad item must not hold back the others
        log.warning("bill run %s: retry of the skipped items failed as a whole; item by "
                    "item", run.pk, exc_info=True)
        outcomes = {item.pk: _bill_alone(run, item) for item in items}
    _record(outcomes)
    tally = _tally(outcomes)
    audit_record(action="bill_run.retry_skipped", actor=actor, api_key=api_key,
                 target=str(run.public_id), detail={str(k): v for k, v in tally.items()})
    if run.status not in LIVE:
        run.status = final_status(run)
        run.save(update_fields=["status"])
    return {str(k): v for k, v in tally.items()}


__all__: list[Any] = [
    "MAX_CHUNK_ATTEMPTS", "bill_run_item_retry", "bill_run_process_chunk",
    "bill_run_retry_skipped", "lease_seconds",
]
