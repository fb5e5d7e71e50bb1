"""What the readings app shows on pages of the apps below it (see billspree.core.panels)."""

from __future__ import annotations

from django.http import HttpRequest

from billspree.core.panels import Panel
from meters.models import MeterAssignment
from readings.models import MeterReadingState


def billing_point(request: HttpRequest, obj) -> list[Panel]:
    """The latest reading of each meter active at the billing point (two queries)."""
    meters = [
        a.meter
        for a in MeterAssignment.objects.filter(billing_point=obj, removed_at__isnull=True)
        .select_related("meter")
        .order_by("meter__type", "meter__serial_number")
    ]
    states = {
        s.meter_id: s for s in MeterReadingState.objects.filter(meter_id__in=[m.pk for m in meters])
    }
    rows = [{"meter": m, "state": states.get(m.pk)} for m in meters]
    return [Panel("Latest readings", "readings/_billing_point_panel.html", {"rows": rows})]
