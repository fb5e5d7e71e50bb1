"""Measurements of every organization (used by the isolation test): a meter's power, a
sensor's temperature, and a downsampled bucket, through the services like real paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from readings.measurements import partitions
from readings.measurements.ingest import MeasurementIn, measurement_ingest, series_ensure
from readings.measurements.models import MeasurementAggregate
from readings.models import Source


def populate(world) -> None:
    meter, sensor = world.objects["meter"], world.objects["sensor"]
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    outcome = measurement_ingest(rows=[
        MeasurementIn(0, meter_number=meter.serial_number, quantity="active_power",
                      measured_at=at.isoformat(), value=1500),
        MeasurementIn(1, sensor_number=sensor.serial_number, quantity="temperature",
                      measured_at=at.isoformat(), value="21,5"),
    ], source=Source.API)
    assert outcome.committed, [r.errors for r in outcome.results]
    partitions.ensure(partitions.AGGREGATE, {(2025, 1)})
    series = series_ensure("sensor", [(sensor.pk, "temperature")])[(sensor.pk, "temperature")]
    MeasurementAggregate.objects.create(
        series_id=series, bucket_start=datetime(2025, 1, 1, tzinfo=UTC), samples=2,
        min_value=20.0, min_at=datetime(2025, 1, 1, 0, 1, tzinfo=UTC), avg_value=20.5,
        max_value=21.0, max_at=datetime(2025, 1, 1, 0, 2, tzinfo=UTC),
    )
