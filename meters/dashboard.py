"""Dashboard cards of the meter registry: billing points, and meters active vs in stock.

A billing point without an active meter cannot be billed, so it is counted in amber: it
is usually a connection someone forgot to finish.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from django.urls import reverse

from billspree.core.dashboard import Card
from meters.models import BillingPoint, Meter, MeterAssignment


def cards(request: HttpRequest) -> list[Card]:
    open_for_point = MeterAssignment.objects.filter(
        billing_point=OuterRef("pk"), removed_at__isnull=True
    )
    points = BillingPoint.objects.aggregate(
        total=Count("pk"), unmetered=Count("pk", filter=~Q(Exists(open_for_point)))
    )
    if not points["total"]:
        return [
            Card(
                label="Properties",
                value=0,
                foot="Start by creating a property",
                url=reverse("meters:property_create"),
                tone="amber",
            )
        ]
    open_for_meter = MeterAssignment.objects.filter(meter=OuterRef("pk"), removed_at__isnull=True)
    meters = Meter.objects.aggregate(
        total=Count("pk"), active=Count("pk", filter=Q(Exists(open_for_meter)))
    )
    unmetered = points["unmetered"]
    return [
        Card(
            label="Billing points",
            value=points["total"],
            foot=f"{unmetered} without an active meter" if unmetered else "All have meters",
            url=reverse("meters:index"),
            tone="amber" if unmetered else "",
        ),
        Card(
            label="Active meters",
            value=f"{meters['active']} / {meters['total']}",
            foot=f"{meters['total'] - meters['active']} inactive (in stock or removed)",
            url=reverse("meters:meter_list") + "?status=active",
        ),
    ]
