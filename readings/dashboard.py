"""Dashboard cards of readings: active meters not read lately (amber after 24 h, red after
72 h), and anomalies to review; the readings step of the getting-started checklist;
uploads in words.

Counted from the per-meter state table (one row per meter), never from the readings
table itself (hundreds of millions of rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from billspree.core.dashboard import Activity, Card, Step, by_action, count
from meters.models import Meter, MeterAssignment
from readings.models import MeterReadingState, ReadingAnomaly

#: a meter not read for this long is late (amber), and for this long overdue (red)
LATE = timedelta(hours=24)
OVERDUE = timedelta(hours=72)
WORST_SHOWN = 3


def _active_meters():
    open_assignment = MeterAssignment.objects.filter(meter=OuterRef("pk"),
                                                     removed_at__isnull=True)
    last = MeterReadingState.objects.filter(meter=OuterRef("pk")).values("last_read_at")[:1]
    return Meter.objects.filter(Exists(open_assignment)).annotate(last_read=Subquery(last))


def _age(since: timedelta) -> str:
    hours = int(since.total_seconds() // 3600)
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def cards(request: HttpRequest) -> list[Card]:
    now = timezone.now()
    late, overdue = now - LATE, now - OVERDUE
    meters = _active_meters()
    counts = meters.aggregate(
        active=Count("pk"),
        late=Count("pk", filter=Q(last_read__lt=late) | Q(last_read__isnull=True)),
        overdue=Count("pk", filter=Q(last_read__lt=overdue) | Q(last_read__isnull=True)),
    )
    anomalies = ReadingAnomaly.objects.filter(status=ReadingAnomaly.Status.OPEN).count()
    result = []
    if counts["active"]:
        worst = list(meters.filter(Q(last_read__lt=late) | Q(last_read__isnull=True))
                     .order_by("last_read", "serial_number")
                     .values_list("serial_number", "last_read")[:WORST_SHOWN])
        lines = tuple(f"{serial}: {'never read' if at is None else _age(now - at) + ' ago'}"
                      for serial, at in worst)
        if counts["overdue"]:
            foot, tone = f"{counts['overdue']} not read for over 72 h", "red"
        elif counts["late"]:
            foot, tone = "not read for over 24 h", "amber"
        else:
            foot, tone = f"All {counts['active']} active meters read in the last 24 h", "green"
        result.append(Card(label="Meters unread for 24 h", value=counts["late"], foot=foot,
                           url=reverse("readings:index"), tone=tone, lines=lines))
    result.append(Card(
        label="Anomalies to review",
        value=anomalies,
        foot="Implausible readings, accepted but flagged",
        url=reverse("readings:anomalies"),
        tone="amber" if anomalies else "green",
    ))
    return result


def setup_steps(request: HttpRequest) -> list[Step]:
    with_readings = MeterReadingState.objects.filter(last_read_at__isnull=False).count()
    return [Step(40, "Get readings in: gateways, CSV upload or the API", with_readings > 0,
                 reverse("readings:index"),
                 f"{count(with_readings, 'meter')} with readings" if with_readings else "")]


def describe(events: Sequence) -> dict[int, Activity]:
    return {e.pk: Activity("uploaded readings from", e.target, reverse("readings:upload"))
            for e in by_action(events, "readings.upload")}
