"""Small builders for readings tests: a property, billing point, meter and assignment."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from readings.parsing import RowIn
from readings.services import reading_ingest

T0 = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 12, 31, tzinfo=UTC)


def make_meter(
    serial: str = "E-1",
    *,
    digits: int = 6,
    multiplier: str = "1",
    connected_at: datetime = T0,
    initial: str = "0",
    tz: str = "Europe/Berlin",
    type: str = MeterType.ELECTRICITY,
    billing_point: BillingPoint | None = None,
) -> Meter:
    if billing_point is None:
        prop, _ = Property.objects.get_or_create(name=f"House {tz}", defaults={"time_zone": tz})
        billing_point, _ = BillingPoint.objects.get_or_create(
            connection_id=f"BP-{serial}", defaults={"property": prop, "name": f"Unit {serial}"}
        )
    meter = Meter.objects.create(
        serial_number=serial,
        type=type,
        unit="kWh",
        register_digits=digits,
        multiplier=Decimal(multiplier),
    )
    MeterAssignment.objects.create(
        meter=meter,
        billing_point=billing_point,
        connected_at=connected_at,
        initial_reading=Decimal(initial),
    )
    return meter


def rows(*items: tuple) -> list[RowIn]:
    """(serial, read_at, value[, quality]) tuples → RowIn with 1-based line numbers."""
    return [RowIn(i + 1, *item) for i, item in enumerate(items)]


def ingest(*items: tuple, **kwargs):
    kwargs.setdefault("source", "api")
    kwargs.setdefault("now", NOW)
    return reading_ingest(rows=rows(*items), **kwargs)
