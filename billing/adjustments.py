"""Pending adjustments on the tenant's next invoice (the engine's side; reads only).

An :class:`~billing.models.Adjustment` records the difference late data made to a period
already issued (``billing.services.adjustments`` computes it). Until a later invoice bills
it, it is *pending*; the engine adds one ``adjustment`` line per pending adjustment to the
draft of the same tenant and billing point whose period starts at or after the adjusted
period's end (its "next invoice"), traced to the adjustment (the original invoice, the
readings). ``billing.services.adjustments.adjustments_place`` writes the link when the
draft is stored. Loaded in one query per batch of subscriptions (the bill run's hot path).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from billing.drafts import DraftInvoice, DraftLine, UsageRef
from billing.models import Adjustment, LineKind
from billspree.core import timefmt


def load_pending(ctx) -> dict[tuple[int, int], list[Adjustment]]:
    """Pending adjustments of the batch's billing points, by (billing point, tenant)."""
    bp_ids = {s.billing_point_id for s in ctx.subs}
    rows = Adjustment.objects.filter(
        billing_point_id__in=bp_ids, invoice__isnull=True, credit_note__isnull=True
    ).select_related("original_invoice", "meter").order_by("period_start", "pk")
    out: dict[tuple[int, int], list[Adjustment]] = defaultdict(list)
    for adj in rows:
        out[(adj.billing_point_id, adj.tenant_id)].append(adj)
    return out


def period_text(start: datetime, end: datetime, tz: str) -> str:
    """``[start, end)`` as the inclusive local days people read ("1–30 Sep 2026"): the one
    period formatter of pages, PDFs and messages (``billspree.core.timefmt``)."""
    return timefmt.format_period(start, end, tz)


def line_description(adj: Adjustment, tz: str) -> str:
    what = f"Adjustment of {adj.original_invoice.number} ({period_text(adj.period_start, adj.period_end, tz)}): {adj.charge}"  # noqa: E501
    if adj.meter is not None:
        what += f", meter {adj.meter.serial_number}"
        if adj.start_value is not None and adj.end_value is not None:
            what += f" (readings {adj.start_value.normalize():f} → {adj.end_value.normalize():f})"
    return what + f" — {adj.reason}"


def add_pending_lines(ctx, inv: DraftInvoice) -> None:
    """Add the tenant's pending adjustments of earlier periods to ``inv`` (not saved)."""
    if inv.tenant is None or not ctx.pending:
        return
    tz = str(inv.subscription.billing_point.property.time_zone)
    for adj in ctx.pending.get((inv.subscription.billing_point_id, inv.tenant.pk), []):
        if adj.period_end > inv.start or getattr(adj, "_taken", False):
            continue
        adj._taken = True  # one draft per batch bills it
        inv.lines.append(adjustment_line(adj, tz))


def adjustment_line(adj: Adjustment, tz: str):
    """The draft line that bills ``adj``, traced to it (and to the meter and readings)."""
    return DraftLine(
        kind=LineKind.ADJUSTMENT, description=line_description(adj, tz)[:300],
        quantity=adj.quantity, unit=adj.unit, unit_price=adj.unit_price, amount=adj.amount,
        tax_rate=adj.tax_rate, tax_amount=adj.tax_amount, meter_type=adj.meter_type,
        start_at=adj.period_start, end_at=adj.period_end, adjustment=adj,
        usage=_usage_ref(UsageRef, adj),
    )


def _usage_ref(cls, adj: Adjustment):
    """The line's trace to the meter and the corrected readings (no billed period of its
    own: the adjustment's billed period is written by ``adjustments_place``)."""
    if adj.meter_id is None or adj.assignment_id is None:
        return None
    return cls(
        key=0, meter_id=adj.meter_id, serial_number=adj.meter.serial_number,
        assignment_id=adj.assignment_id, meter_type=adj.meter_type, unit=adj.unit,
        start_at=adj.period_start, end_at=adj.period_end, quantity=adj.quantity,
        start_read_at=adj.start_read_at, start_value=adj.start_value,
        end_read_at=adj.end_read_at, end_value=adj.end_value, estimated=adj.estimated,
    )
