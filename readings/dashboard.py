"""Dashboard cards of readings: how many meters reported lately, and anomalies to review.

Counted from the per-meter state table (one row per meter), never from the readings
table itself (hundreds of millions of rows).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from billspree.core.dashboard import Card
from readings.models import MeterReadingState, ReadingAnomaly


def cards(request: HttpRequest) -> list[Card]:
    since = timezone.now() - timedelta(days=1)
    states = MeterReadingState.objects.aggregate(
        meters=Count("pk", filter=Q(last_read_at__isnull=False)),
        fresh=Count("pk", filter=Q(last_read_at__gte=since)),
    )
    anomalies = ReadingAnomaly.objects.filter(status=ReadingAnomaly.Status.OPEN).count()
    return [
        Card(
            label="Meters read in 24 h",
            value=states["fresh"],
            foot=f"of {states['meters']} meters with readings",
            url=reverse("readings:index"),
        ),
        Card(
            label="Anomalies to review",
            value=anomalies,
            foot="Implausible readings, accepted but flagged",
            url=reverse("readings:anomalies"),
            tone="amber" if anomalies else "green",
        ),
    ]
