"""The scheduled-meter-reading dataset (described in tests/monitoring/test_meter_readings.py),
shared by its selector tests and its Chromium test. Call inside an organization context."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from readings.measurements.ingest import MeasurementIn, measurement_ingest
from readings.models import Source
from tests.readings.helpers import ingest

NOW = datetime(2026, 12, 31, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _meter(serial, bp, connected, *, unit="kWh", type_=MeterType.ELECTRICITY, initial="0",
           removed=None, final=None):
    meter = Meter.objects.create(serial_number=serial, type=type_, unit=unit, register_digits=6)
    MeterAssignment.objects.create(meter=meter, billing_point=bp, connected_at=connected,
                                   removed_at=removed, initial_reading=Decimal(initial),
                                   final_reading=None if final is None else Decimal(final))
    return meter


def build_house() -> dict:
    prop = Property.objects.create(name="Seehaus", time_zone="Europe/Zurich")
    flat1 = BillingPoint.objects.create(property=prop, connection_id="Z-1", name="Flat 1")
    flat2 = BillingPoint.objects.create(property=prop, connection_id="Z-2", name="Flat 2")
    e1 = _meter("E-1", flat1, utc(2026, 10, 19, 22))
    e2 = _meter("E-2", flat2, utc(2026, 9, 30, 22), removed=utc(2026, 11, 1, 11), final="500")
    e4 = _meter("E-4", flat2, utc(2026, 11, 1, 11))
    w1 = _meter("W-1", flat2, utc(2026, 3, 28, 11), unit="m³", type_=MeterType.COLD_WATER,
                initial="5")
    ingest(("E-1", "2026-10-23T22:00:00Z", "100"), ("E-1", "2026-10-24T16:00:00Z", "118"),
           ("E-1", "2026-10-25T05:00:00Z", "131"), ("E-1", "2026-10-26T05:00:00Z", "155"),
           ("E-1", "2026-11-02T23:00:00Z", "341"), ("E-2", "2026-10-31T23:00:00Z", "480"),
           ("E-4", "2026-11-02T11:00:00Z", "24"), ("W-1", "2026-03-28T23:00:00Z", "10"),
           ("W-1", "2026-03-29T02:00:00Z", "13"), ("W-1", "2026-03-30T00:30:00Z", "20"),
           now=NOW)
    outcome = measurement_ingest(rows=[
        MeasurementIn(i, meter_number="E-1", quantity="active_power", measured_at=at, value=v)
        for i, (at, v) in enumerate([("2026-10-23T21:40:00Z", 900),
                                     ("2026-10-24T21:55:00Z", 1500),
                                     ("2026-10-24T22:05:00Z", 2000)])
    ], source=Source.API, now=NOW)
    assert outcome.committed, [r.errors for r in outcome.results]
    return {"prop": prop, "flat1": flat1, "flat2": flat2, "E-1": e1, "E-2": e2, "E-4": e4,
            "W-1": w1}


