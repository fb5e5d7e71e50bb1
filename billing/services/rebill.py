"""Credit note + re-bill: settle the late data about an issued period now.

By default the adjustments of an issued period wait for the tenant's next invoice. The
manager may instead settle them at once: the reductions (what a tenant paid and did not
owe, e.g. the outgoing tenant of a back-dated move) with a partial credit note of the
original invoice, the additions (what is owed on top, e.g. the incoming tenant's days and
consumption, or a corrected reading) with a re-bill — a draft invoice of kind
``adjustment`` for that tenant and the period, carrying the adjustment lines (it overlaps
the period's regular invoice by design; the one-invoice-per-tenant-and-period constraint
covers regular invoices only). Each adjustment is settled exactly once — by the credit note
or by the re-bill — so every kWh and day stays billed once (``adjustment_settled_once``,
``billed_period_adjustment_once``). The original invoice stays issued and its periods
billed: only a full credit note releases them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection, transaction

from billing.adjustments import adjustment_line
from billing.engine import DraftInvoice
from billing.models import Adjustment, CreditNote, Invoice, InvoiceKind
from billing.services.adjustments import late_data_lock
from billing.services.credit_notes import CREDITABLE, credit_note_for_adjustments
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record


@dataclass
class Rebill:
    credit_note: CreditNote | None = None
    invoices: list[Invoice] = field(default_factory=list)


@transaction.atomic
def adjustments_rebill(*, invoice: Invoice, actor=None, api_key=None) -> Rebill:
    """Settle the pending adjustments of ``invoice``'s period now: a partial credit note for
    the reductions, a re-bill draft per tenant for the additions."""
    from billing.services.invoice_rows import retotal, write_children

    late_data_lock(invoice.billing_point_id)
    inv = Invoice.objects.select_for_update(of=("self",)).select_related(
        "subscription__billing_point__property").get(pk=invoice.pk)
    if inv.status not in CREDITABLE:
        raise Conflict(f"Invoice {inv} is {inv.get_status_display().lower()}: only the late "
                       "data of an issued period is re-billed.", code="not_issued")
    pending = list(Adjustment.objects.select_for_update(of=("self",)).filter(
        original_invoice=inv, invoice__isnull=True, credit_note__isnull=True,
    ).select_related("original_invoice", "meter", "tenant").order_by("tenant_id", "pk"))
    if not pending:
        raise Conflict(f"{inv.number} has no pending adjustment to settle.",
                       code="nothing_pending")
    out = Rebill()
    if any(a.amount < 0 for a in pending):
        out.credit_note = credit_note_for_adjustments(
            invoice=inv, adjustments=[a for a in pending if a.amount < 0], actor=actor,
            api_key=api_key)
    additions: dict[int, list[Adjustment]] = {}
    for a in pending:
        if a.amount >= 0:
            additions.setdefault(a.tenant_id, []).append(a)
    tz = str(inv.subscription.billing_point.property.time_zone) if inv.subscription else "UTC"
    org = require_organization()
    for adjustments in additions.values():
        draft = DraftInvoice(inv.subscription, adjustments[0].tenant, inv.period_start,
                             inv.period_end, str(inv.currency))
        draft.lines = [adjustment_line(a, tz) for a in adjustments]
        rebill = Invoice.objects.create(
            tenant=draft.tenant, billing_point=inv.billing_point, subscription=inv.subscription,
            period_start=inv.period_start, period_end=inv.period_end, currency=inv.currency,
            kind=InvoiceKind.ADJUSTMENT, notes=f"Re-bill of late data about {inv.number}",
        )
        with connection.cursor() as wrapper, connection.wrap_database_errors:
            write_children(wrapper.cursor, org, [rebill.pk], [draft], [], [])
        retotal(rebill)
        out.invoices.append(rebill)
    audit_record(action="billing.adjustment.rebill", actor=actor, api_key=api_key,
                 target=inv.number, detail={
                     "credit_note": out.credit_note.number if out.credit_note else None,
                     "rebills": [str(i.public_id) for i in out.invoices],
                     "adjustments": [str(a.public_id) for a in pending]})
    return out

