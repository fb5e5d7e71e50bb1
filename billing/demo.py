"""Demo billing of an organization: every demo billing point with a pricing template for
its kind is subscribed to that plan (and variant) from its first meter connection, and the
first two apartments that can be billed (the demo tenant's portal-login units first, of
whatever kind) get an issued invoice for last month. The demo tenant's units also get the
two months before, issued and paid, so the tenant portal shows a history, what is due and
what was paid on first login (their PDFs are rendered by the worker, or inline in tests). Each
property gets a scheduled monthly billing batch ("Monthly — <property>") holding its
subscriptions; the largest one has a finished run of last month waiting for review.

Runs after the meters, readings, tenants and tariffs demos (INSTALLED_APPS order).
Idempotent: existing subscriptions are kept; a tenant already invoiced for last month gets
nothing new.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Count, Min

from billing import services
from billing.models import BillingBatch, BillRun, BillRunTrigger, Invoice, Subscription
from billspree.core.errors import Conflict
from billspree.core.models import Organization
from meters.models import BillingPoint
from tariffs.models import PricingTemplate

START = date(2025, 1, 1)
INVOICED_DEMO_POINTS = 2


def _subscribe() -> list[Subscription]:
    templates = {
        t.billing_point_kind: t
        for t in PricingTemplate.objects.select_related("plan", "variant").order_by("-name")
        if t.variant_id is None
    }
    subscribed = set(Subscription.objects.values_list("billing_point_id", flat=True))
    points = BillingPoint.objects.annotate(first=Min("assignments__connected_at")).select_related(
        "property"
    ).order_by("connection_id")
    for bp in points:
        template = templates.get(bp.kind)
        if template is None or bp.pk in subscribed:
            continue
        tz = ZoneInfo(str(bp.property.time_zone))
        start = max(START, bp.first.astimezone(tz).date()) if bp.first else START
        services.subscription_create(
            billing_point=bp, plan=template.plan, variant=template.variant, start_date=start,
            note=f"Demo: pricing template “{template.name}”",
        )
    return list(Subscription.objects.select_related("billing_point__property", "plan",
                                                    "variant").order_by("billing_point__name"))


def _last_month(tz: str) -> tuple[date, date]:
    today = datetime.now(ZoneInfo(tz)).date()
    end = today.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    return start, end


def _portal_points() -> set[int]:
    """Billing points of tenants with a portal login: invoiced first (whatever their
    kind), so the demo tenant finds an invoice and its statement in the tenant portal."""
    from tenants.models import Occupancy, TenantAccess

    logged_in = TenantAccess.objects.filter(
        accepted_at__isnull=False, revoked_at__isnull=True
    ).values("tenant_id")
    return set(Occupancy.objects.filter(tenant_id__in=logged_in)
               .values_list("billing_point_id", flat=True))


def _month_back(start: date, months: int) -> date:
    n = start.year * 12 + start.month - 1 - months
    return date(n // 12, n % 12 + 1, 1)


def _bill(sub: Subscription, start: date, end: date) -> list[Invoice]:
    """Issued invoices of ``sub`` for [start, end), or none when it cannot be billed."""
    if sub.start_date > start:
        return []
    preview = services.invoice_preview(subscriptions=[sub], start=start, end=end)
    if not preview.can_bill:
        return []
    try:
        drafts = services.invoice_create_draft(subscriptions=[sub], start=start, end=end)
    except (ValidationError, Conflict):
        return []
    return [services.invoice_issue(invoice=inv) for inv in drafts]


#: Months before last month invoiced (and paid) for the demo tenant's units.
PORTAL_HISTORY_MONTHS = 2


def _portal_history(subs: list[Subscription]) -> None:
    """The demo tenant's units: the months before last month, oldest first, issued and
    marked paid (a tenant already invoiced for a month gets nothing new)."""
    portal = _portal_points()
    for sub in subs:
        if sub.billing_point_id not in portal:
            continue
        last_start, _ = _last_month(str(sub.billing_point.property.time_zone))
        for back in range(PORTAL_HISTORY_MONTHS, 0, -1):
            start, end = _month_back(last_start, back), _month_back(last_start, back - 1)
            if _invoiced(sub, start, end):
                continue
            for inv in _bill(sub, start, end):
                services.invoice_mark_paid(invoice=inv)


def _at(sub: Subscription, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(),
                            tzinfo=ZoneInfo(str(sub.billing_point.property.time_zone)))


def _invoiced(sub: Subscription, start: date, end: date) -> bool:
    """Whether the subscription has a (non-void) invoice overlapping [start, end)."""
    return Invoice.objects.exclude(status="void").filter(
        subscription=sub, period_start__lt=_at(sub, end), period_end__gt=_at(sub, start)
    ).exists()


def _invoice_last_month(subs: list[Subscription]) -> None:
    portal = _portal_points()
    done = sum(1 for sub in subs if _invoiced(sub, *_last_month(
        str(sub.billing_point.property.time_zone))))
    for sub in sorted(subs, key=lambda s: s.billing_point_id not in portal):
        if done >= INVOICED_DEMO_POINTS:
            return
        if sub.billing_point.kind != BillingPoint.Kind.APARTMENT and (
            sub.billing_point_id not in portal
        ):
            continue
        start, end = _last_month(str(sub.billing_point.property.time_zone))
        done += len(_bill(sub, start, end))


def _batches() -> list[BillingBatch]:
    """A monthly batch per property holding its subscriptions, scheduled for the 1st at
    06:00 (organization time). Existing batches (by name) are kept as they are."""
    from meters.models import Property

    batches = []
    for prop in Property.objects.order_by("name"):
        name = f"Monthly — {prop.name}"
        batch = BillingBatch.objects.filter(name=name).first()
        if batch is None:
            batch = services.batch_create(
                name=name, billing_day=1, schedule_time="06:00", schedule_enabled=True,
                notes="Demo: bills last month on the 1st; drafts wait for review.",
            )
            services.batch_subscriptions_set(batch=batch, property=prop)
        batches.append(batch)
    return batches


def _run_last_month(batches: list[BillingBatch]) -> None:
    """The largest batch's run of last month, billed here and now (its chunks processed in
    this process, so the demo shows a finished run without a worker): its drafts wait for
    review, and the tenants invoiced by hand above show as skipped with the reason."""
    if BillRun.objects.filter(batch__in=batches).exists():
        return
    batch = BillingBatch.objects.filter(pk__in=[b.pk for b in batches]).annotate(
        n=Count("subscriptions")).filter(n__gt=0).order_by("-n", "name").first()
    if batch is None:
        return
    run = services.bill_run_start(batch=batch, trigger=BillRunTrigger.SCHEDULE)
    for chunk_id in run.chunks.order_by("number").values_list("pk", flat=True):
        services.bill_run_process_chunk(chunk_id=chunk_id, worker="demo seed")


def seed(org: Organization) -> None:
    subs = _subscribe()
    _portal_history(subs)
    _invoice_last_month(subs)
    _run_last_month(_batches())
