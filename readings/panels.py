"""What the readings app shows on pages of the apps below it (see billspree.core.panels)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import HttpRequest

from billspree.core import timefmt
from billspree.core.models import Role
from billspree.core.panels import Panel
from meters.models import Meter, MeterAssignment
from readings import selectors
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


def meter(request: HttpRequest, obj: Meter) -> list[Panel]:
    """A meter's latest reading and its consumption last month and this month so far (in
    its property's time zone), with the way to its readings, charts and manual entry."""
    current = MeterAssignment.objects.filter(meter=obj).select_related(
        "billing_point__property").order_by("-connected_at").first()
    tz = ZoneInfo(str(current.billing_point.property.time_zone if current
                      else request.organization.time_zone))
    today = datetime.now(tz).date()
    edges = [timefmt.month_start(today, tz, back) for back in (1, 0, -1)]
    last, this = selectors.meter_months_consumption(
        meter=obj, periods=list(zip(edges, edges[1:], strict=False)))
    return [Panel("Readings and consumption", "readings/_meter_panel.html", {
        "meter": obj, "state": MeterReadingState.objects.filter(meter_id=obj.pk).first(),
        "tz": tz, "months": [
            {"label": timefmt.format_month(last.start, tz), "c": last, "so_far": False},
            {"label": timefmt.format_month(this.start, tz), "c": this, "so_far": True},
        ],
        "can_enter": bool(getattr(request, "role", None))
        and Role.at_least(request.role, Role.OPERATOR),
    })]
