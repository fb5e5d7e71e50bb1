"""Read queries of measurements (per series; every per-device query uses the primary key)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from readings.measurements.models import Measurement, MeasurementSeries


def series_of_device(*, meter=None, sensor=None, quantity: str | None = None
                     ) -> QuerySet[MeasurementSeries]:
    qs = MeasurementSeries.objects.all()
    qs = qs.filter(meter=meter) if meter is not None else qs.filter(sensor=sensor)
    return qs.filter(quantity=quantity) if quantity else qs


def measurements_of(*, series_ids: list[int], start: datetime | None = None,
                    end: datetime | None = None) -> QuerySet[Measurement]:
    """Raw measurements of these series in [start, end), by series then time."""
    qs = Measurement.objects.filter(series_id__in=series_ids)
    if start is not None:
        qs = qs.filter(measured_at__gte=start)
    if end is not None:
        qs = qs.filter(measured_at__lt=end)
    return qs.order_by("series_id", "measured_at")


def series_with_latest() -> QuerySet[MeasurementSeries]:
    """Every series of the organization with its latest value and instant (one index probe
    per series, newest first by the primary key)."""
    latest = Measurement.objects.filter(series_id=OuterRef("pk")).order_by("-measured_at")
    return (
        MeasurementSeries.objects.select_related("meter", "sensor", "sensor__property")
        .annotate(latest_at=Subquery(latest.values("measured_at")[:1]),
                  latest_value=Subquery(latest.values("value")[:1]))
        .order_by("meter__serial_number", "sensor__serial_number", "quantity")
    )
