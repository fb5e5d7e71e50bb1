"""What billing offers on pages of the apps below it (see billspree.core.actions)."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django.db.models import Max, Q
from django.http import HttpRequest
from django.urls import reverse

from billing.models import Invoice, InvoiceStatus, Subscription
from billspree.core.actions import Action
from billspree.core.models import Role
from billspree.core.timefmt import format_period, local_date

#: A preview covers at most this long (``invoice_preview``'s limit).
LONGEST = timedelta(days=366)


def _final_period(move, subscription: Subscription) -> tuple[date, date]:
    """From the day after the outgoing tenant's last invoice at this billing point (else
    their move-in, else the subscription's start) to the move date (exclusive)."""
    bp, tenant = move.billing_point, move.outgoing.tenant
    end = local_date(move.moved_at, bp)
    billed = (
        Invoice.objects.filter(billing_point=bp, tenant=tenant)
        .exclude(status=InvoiceStatus.VOID)
        .aggregate(until=Max("period_end"))["until"]
    )
    candidates = [local_date(move.outgoing.move_in, bp), subscription.start_date]
    if billed is not None:
        candidates.append(local_date(billed, bp))
    start = max(candidates)
    return max(start, end - LONGEST), end


def move_registered(request: HttpRequest, move) -> list[Action]:
    """The outgoing tenant's final bill: the preview of their subscription up to the move,
    filled in (a manager creates the draft from there)."""
    if move.outgoing is None or not (
        request.role and Role.at_least(request.role, Role.MANAGER)
    ):
        return []
    tenant, bp = move.outgoing.tenant, move.billing_point
    end = local_date(move.moved_at, bp)
    subscription = (
        Subscription.objects.filter(billing_point=bp, start_date__lt=end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=end))
        .order_by("-start_date").first()
    )
    label = f"Final bill of {tenant.name}"
    if subscription is None:
        return [Action(label, note=f"{bp.name} has no subscription up to the move: "
                       "nothing to bill here.", testid="final-bill")]
    start, end = _final_period(move, subscription)
    if start >= end:
        return [Action(label, note=f"{tenant.name} is already invoiced up to the move.",
                       testid="final-bill")]
    query = urlencode({"subscription": subscription.public_id, "start": start.isoformat(),
                       "end": end.isoformat()})
    period = format_period(start, end)
    return [Action(label, url=f"{reverse('billing:preview')}?{query}",
                   note=f"Preview and create the final invoice, {period}.", testid="final-bill")]
