"""What billing shows on pages of the apps below it (see billspree.core.panels)."""

from __future__ import annotations

from django.http import HttpRequest

from billing.models import Invoice, Subscription
from billspree.core.panels import Panel


def billing_point(request: HttpRequest, obj) -> list[Panel]:
    """The billing point's subscriptions (plan history) and its latest invoices."""
    subs = list(
        Subscription.objects.filter(billing_point=obj).select_related("plan", "variant")
        .order_by("-start_date")
    )
    invoices = list(
        Invoice.objects.filter(billing_point=obj).select_related("tenant")
        .order_by("-period_start", "-pk")[:5]
    )
    return [
        Panel(
            "Subscriptions and invoices",
            "billing/_billing_point_panel.html",
            {"subscriptions": subs, "invoices": invoices, "billing_point": obj},
        )
    ]
