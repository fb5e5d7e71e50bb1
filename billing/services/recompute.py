"""Recompute a stale draft from current data (and refuse to issue it before).

A draft is *stale* when a reading, move or meter change altered its period after it was
computed (``billing.services.adjustments`` marks it, in the transaction of the change).
:func:`invoice_recompute` rebuilds it in place — same invoice, same bill run — from the
current readings, occupancy and meters: its computed lines and billed periods are replaced,
its manual lines kept, the adjustments it carried re-chosen; a tenant who no longer occupies
any of the period has the draft voided; a new occupant of the period gets a draft of their
own (in the same bill run).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from billing import engine
from billing.models import (
    Adjustment,
    BilledPeriod,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record


def stale_conflict(invoices: list[Invoice]) -> Conflict:
    names = ", ".join(f"{i.tenant.name} ({i.stale_reason})" for i in invoices[:5])
    more = f" and {len(invoices) - 5} more" if len(invoices) > 5 else ""
    what = "This draft is" if len(invoices) == 1 else f"{len(invoices)} drafts are"
    return Conflict(
        f"{what} stale — its readings, occupancy or meters changed after it was computed: "
        f"{names}{more}. Recompute before issuing.",
        fields={"invoice": ["stale: recompute it first"]}, code="invoice_stale",
    )


@transaction.atomic
def invoice_recompute(*, invoice: Invoice, actor=None, api_key=None) -> Invoice:
    """Rebuild a draft from current data (stale or not); returns it (void when its tenant
    has nothing left to bill in the period)."""
    from billing.services.adjustments import late_data_lock
    from billing.services.invoice_rows import new_ids, retotal, write_children, write_drafts

    late_data_lock(invoice.billing_point_id)  # before the invoice row (see late_data_lock)
    inv = Invoice.objects.select_for_update(of=("self",)).select_related(
        "tenant", "subscription__billing_point__property", "bill_run"
    ).get(pk=invoice.pk)
    if inv.status != InvoiceStatus.DRAFT:
        raise Conflict(f"Invoice {inv} is {inv.get_status_display().lower()}: only drafts are "
                       "recomputed; late data about an issued period becomes an adjustment.",
                       code="not_draft")
    if inv.kind != "regular":
        raise Conflict("A re-bill of adjustments is not recomputed: void it (its adjustments "
                       "become pending again) and re-bill.", code="not_recomputable")
    if inv.subscription is None:
        raise Conflict("This draft was not made from a subscription: void it and create it "
                       "again.", code="not_recomputable")
    _clear(inv)
    sub = inv.subscription
    zone = ZoneInfo(str(sub.billing_point.property.time_zone))
    preview = engine.compute(
        subscriptions=[sub], start=inv.period_start.astimezone(zone).date(),
        end=inv.period_end.astimezone(zone).date(), replacing=frozenset({inv.pk}),
    )
    mine = [d for d in preview.invoices if d.tenant is not None and d.tenant.pk == inv.tenant_id]
    others = [d for d in preview.invoices if d.can_bill and d not in mine]
    org = require_organization()
    if mine and mine[0].can_bill:
        draft = mine[0]
        with connection.cursor() as wrapper, connection.wrap_database_errors:
            cur = wrapper.cursor
            refs = [(0, ref) for ref in draft.usages]
            write_children(cur, org, [inv.pk], [draft],
                            new_ids(cur, "billing_billedperiod", len(refs)), refs)
        InvoiceLine.objects.filter(invoice=inv, kind=LineKind.MANUAL).update(
            position=F("position") + len(draft.lines)
        )
        outcome = "recomputed"
    elif mine and not mine[0].can_bill:
        errors = [d.message for d in mine[0].diagnostics if d.severity == "error"]
        raise ValidationError({"invoice": errors or ["Nothing can be billed for this tenant."]})
    else:
        inv.status = InvoiceStatus.VOID
        inv.voided_at = timezone.now()
        BilledPeriod.objects.filter(invoice=inv).update(active=False)
        outcome = "voided"
    inv.stale_reason, inv.stale_at = "", None
    inv.save(update_fields=["status", "voided_at", "stale_reason", "stale_at"])
    if inv.status == InvoiceStatus.DRAFT:
        retotal(inv)
    created = write_drafts(org, others, bill_run=inv.bill_run) if others else []
    audit_record(action="invoice.recompute", actor=actor, api_key=api_key,
                 target=str(inv.public_id),
                 detail={"outcome": outcome, "total": str(inv.total),
                         "new_drafts": [str(i.public_id) for i in created]})
    inv.outcome, inv.new_drafts = outcome, created
    return inv


def _clear(inv: Invoice) -> None:
    """Drop what was computed (lines, billed periods, carried adjustments); manual lines
    stay."""
    InvoiceLine.objects.filter(invoice=inv).exclude(kind=LineKind.MANUAL).delete()
    Adjustment.objects.filter(invoice=inv).update(invoice=None)
    BilledPeriod.objects.filter(invoice=inv).delete()


def bill_run_recompute_stale(*, run, actor=None, api_key=None) -> list[Invoice]:
    """Recompute every stale draft of a bill run (each in its own transaction)."""
    stale = Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT).exclude(
        stale_reason=""
    )
    return [invoice_recompute(invoice=inv, actor=actor, api_key=api_key) for inv in stale]
