"""Dashboard cards of tenants: how many billing points are occupied and vacant now."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from billspree.core.dashboard import Card
from meters.models import BillingPoint
from tenants.models import Occupancy


def cards(request: HttpRequest) -> list[Card]:
    now = timezone.now()
    total = BillingPoint.objects.exclude(kind=BillingPoint.Kind.COMMON_AREA).count()
    if not total:
        return []
    occupied = (
        Occupancy.objects.filter(move_in__lte=now)
        .filter(Q(move_out__isnull=True) | Q(move_out__gt=now))
        .exclude(billing_point__kind=BillingPoint.Kind.COMMON_AREA)
        .values("billing_point")
        .distinct()
        .count()
    )
    vacant = total - occupied
    return [
        Card(
            label="Occupancy",
            value=f"{occupied} / {total}",
            foot=f"{vacant} vacant, billed to the owner" if vacant else "Every unit is occupied",
            url=reverse("tenants:index"),
            tone="amber" if vacant else "green",
        )
    ]
