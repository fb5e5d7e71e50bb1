"""What billing shows on pages of the apps below it (see billspree.core.panels)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from billing.models import Invoice, Subscription
from billing.selectors.fixes import fixes_for
from billing.selectors.readiness import billing_point_gaps
from billspree.core import timefmt
from billspree.core.panels import Panel
from billspree.core.portal import organization_today


def billing_point(request: HttpRequest, obj) -> list[Panel]:
    """The billing point's subscriptions (plan history) and its latest invoices."""
    subs = list(
        Subscription.objects.filter(billing_point=obj)
        .select_related("plan", "variant", "batch", "billing_point__property")
        .order_by("-start_date")
    )
    invoices = list(
        Invoice.objects.filter(billing_point=obj).select_related("tenant")
        .order_by("-period_start", "-pk")[:5]
    )
    panels = _gaps_panel(request, obj, subs)
    return panels + [
        Panel(
            "Subscriptions and invoices",
            "billing/_billing_point_panel.html",
            {"subscriptions": subs, "invoices": invoices, "billing_point": obj},
        )
    ]


def _gaps_panel(request: HttpRequest, obj, subs: list[Subscription]) -> list[Panel]:
    """What the tariff needs that the meters do not deliver, over the period a run would
    bill next, with where to fix it (``billing.selectors.readiness``); nothing when all is
    well."""
    gaps, checked = billing_point_gaps(obj, organization_today(request), subs)
    if not gaps:
        return []
    sub, start, end = checked
    here = reverse("meters:billing_point_detail", args=[obj.public_id])
    rows = [{"gap": g, "fixes": [f for f in fixes_for(g.as_dict(), sub) if f.url != here]}
            for g in gaps]
    notes_only = all(g.severity == "info" for g in gaps)
    return [Panel("Billing notes" if notes_only else "Billing needs attention",
                  "billing/_billing_point_gaps.html", {
                      "rows": rows, "period": timefmt.format_period(start, end),
                      "blocking": any(g.severity == "error" for g in gaps),
                      "notes_only": notes_only,
                  }, wide=not notes_only)]
