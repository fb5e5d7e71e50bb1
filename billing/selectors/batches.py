"""Read queries of billing batches: what the portal lists and what a run would bill."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from billing.models import BillingBatch, BillRun, Subscription


def batch_subscriptions_for_period(
    *, batch: BillingBatch, period_start: date, period_end: date
) -> QuerySet[Subscription]:
    """The batch's subscriptions in effect during ``[period_start, period_end)``: what a run
    of that period bills (the portal's confirmation: "N subscriptions will be billed")."""
    return Subscription.objects.filter(batch=batch, start_date__lt=period_end).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=period_start)
    )


def batch_list() -> QuerySet[BillingBatch]:
    """Batches with their subscription count and their latest run (status, period, id), in
    one query."""
    last = BillRun.objects.filter(batch=OuterRef("pk")).order_by("-created_at", "-pk")
    return BillingBatch.objects.select_related("organization").annotate(
        subscription_count=Count("subscriptions", distinct=True),
        last_run_id=Subquery(last.values("public_id")[:1]),
        last_run_status=Subquery(last.values("status")[:1]),
        last_run_period_start=Subquery(last.values("period_start")[:1]),
        last_run_period_end=Subquery(last.values("period_end")[:1]),
    ).order_by("name")
