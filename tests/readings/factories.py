"""``populate(world)``: a row of every readings model for ``world.org``, marker included.

Runs after the meters populator; it reuses ``world.objects["meter"]`` when that exists
(and has an open assignment) and otherwise builds a property, billing point, meter and
assignment itself. Readings go through the ingestion service, like every real path.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from readings.models import ReadingAnomaly, ReadingRevision, Source, Upload
from readings.parsing import RowIn
from readings.services import reading_ingest

START = datetime(2025, 1, 1, tzinfo=UTC)


def _meter(world) -> Meter:
    meter = world.objects.get("meter")
    room = datetime.now(UTC) - timedelta(days=20)  # 13 daily readings must fit before now
    reusable = MeterAssignment.objects.filter(
        meter=meter, removed_at__isnull=True, connected_at__lte=room
    )
    if meter is not None and reusable.exists():
        return meter
    prop = Property.objects.create(name=f"Readings house {world.marker}", time_zone="Europe/Berlin")
    point = BillingPoint.objects.create(
        property=prop, connection_id=f"RD-{world.marker}", name=f"Flat {world.marker}"
    )
    meter = Meter.objects.create(
        serial_number=f"RD-{world.marker}", type=MeterType.ELECTRICITY, unit="kWh"
    )
    MeterAssignment.objects.create(
        meter=meter, billing_point=point, connected_at=START - timedelta(days=1)
    )
    return meter


def populate(world) -> None:
    meter = _meter(world)
    first = MeterAssignment.objects.filter(meter=meter, removed_at__isnull=True).get()
    start = max(START, first.connected_at + timedelta(days=1))
    upload = Upload.objects.create(
        source=Source.API, filename=f"readings-{world.marker}.csv", created_by=world.operator
    )
    rows = [
        RowIn(
            d,
            meter.serial_number,
            start + timedelta(days=d),
            Decimal(first.initial_reading) + 10 * d,
        )
        for d in range(12)
    ]
    reading_ingest(rows=rows, source=Source.API, upload=upload)
    jump = [
        RowIn(12, meter.serial_number, start + timedelta(days=12), first.initial_reading + 5000)
    ]
    reading_ingest(rows=jump, source=Source.API, upload=upload)
    fix = [RowIn(1, meter.serial_number, start + timedelta(days=3), first.initial_reading + 31)]
    reading_ingest(rows=fix, source=Source.MANUAL, upload=upload, replace=True)
    ReadingRevision.objects.filter(meter=meter).update(note=f"Typo fixed {world.marker}")
    ReadingAnomaly.objects.filter(meter=meter).update(note=f"Check {world.marker}")
    world.objects.update(
        reading_meter=meter,
        upload=upload,
        revision=ReadingRevision.objects.filter(meter=meter).first(),
        anomaly=ReadingAnomaly.objects.filter(meter=meter).first(),
    )
