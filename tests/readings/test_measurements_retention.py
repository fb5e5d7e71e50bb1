"""Raw measurements past the retention become 15-minute UTC buckets of min/avg/max.

Hand-computed on a sensor in Zurich around the end of DST (25 Oct 2026, 03:00 CEST →
02:00 CET at 01:00 UTC): the local hour 02:00–03:00 happens twice. Buckets are absolute
UTC intervals, so the quarter that ends at the change (00:45–01:00 UTC, 02:45–03:00
CEST) and the one that starts it (01:00–01:15 UTC, 02:00–02:15 CET) stay apart, where a
bucket by local clock time ("02:00–03:00") would straddle the change and mix 75 minutes
of two different hours.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from billspree.core.scoping import organization_context
from meters import services as meter_services
from meters.models import Property
from readings.measurements.ingest import MeasurementIn, measurement_ingest
from readings.measurements.models import Measurement, MeasurementAggregate
from readings.measurements.partitions import RAW, existing
from readings.measurements.retention import measurements_downsample, retention_cutoff
from readings.models import Source
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(h: int, m: int, s: int = 0, day: int = 25, month: int = 10) -> datetime:
    return datetime(2026, month, day, h, m, s, tzinfo=UTC)


def ingest(rows: list[tuple]) -> None:
    outcome = measurement_ingest(rows=[
        MeasurementIn(i, meter_number=meter, sensor_number=sensor, quantity=q,
                      measured_at=t.isoformat(), value=v)
        for i, (meter, sensor, q, t, v) in enumerate(rows)
    ], source=Source.API, now=NOW)
    assert outcome.committed, [r.errors for r in outcome.results if r.errors]


@pytest.fixture
def data(in_org_a):
    make_meter("PWR-Z", tz="Europe/Zurich")
    prop = Property.objects.get(name="House Europe/Zurich")
    meter_services.sensor_create(kind="temperature", serial_number="T-Z", property=prop)
    t = (None, "T-Z", "temperature")
    ingest([
        (*t, at(0, 46), 20.0), (*t, at(0, 52), 23.5), (*t, at(0, 58, 30), 21.0),  # 02:4x CEST
        (*t, at(1, 5), 19.0), (*t, at(1, 14, 59), 19.5),                           # 02:0x CET
        (*t, at(1, 15), 30.0),
        ("PWR-Z", None, "active_power", at(0, 50), 1200.0),
        (*t, at(12, 0, day=15, month=9), 18.0),  # a whole month before the cutoff
        (*t, at(8, 0, day=28), 17.0),            # within the retention: stays raw
    ])
    return in_org_a


def aggregates() -> list[tuple]:
    return list(MeasurementAggregate.objects.order_by("series__quantity", "bucket_start")
                .values_list("series__quantity", "bucket_start", "samples", "min_value",
                             "min_at", "avg_value", "max_value", "max_at"))


EXPECTED = [
    ("active_power", at(0, 45), 1, 1200.0, at(0, 50), 1200.0, 1200.0, at(0, 50)),
    ("temperature", at(12, 0, day=15, month=9), 1, 18.0, at(12, 0, day=15, month=9), 18.0,
     18.0, at(12, 0, day=15, month=9)),
    # (20 + 23.5 + 21) / 3 = 21.5
    ("temperature", at(0, 45), 3, 20.0, at(0, 46), 21.5, 23.5, at(0, 52)),
    # (19 + 19.5) / 2 = 19.25; 01:14:59 is still in [01:00, 01:15)
    ("temperature", at(1, 0), 2, 19.0, at(1, 5), 19.25, 19.5, at(1, 14, 59)),
    ("temperature", at(1, 15), 1, 30.0, at(1, 15), 30.0, 30.0, at(1, 15)),
]


def test_downsampling_is_hand_computed_utc_buckets_and_idempotent(data):
    assert retention_cutoff(NOW, 35) == datetime(2026, 10, 27, tzinfo=UTC)
    assert (2026, 9) in existing(RAW)
    result = measurements_downsample(now=NOW, raw_days=35)
    assert result.buckets == 5 and result.deleted == 7  # October: 6 temperatures, 1 power
    assert result.dropped == ["readings_measurement_p202609"]
    assert aggregates() == EXPECTED
    assert list(Measurement.objects.values_list("measured_at", "value")) == [
        (at(8, 0, day=28), 17.0)]
    assert (2026, 9) not in existing(RAW) and (2026, 10) in existing(RAW)
    again = measurements_downsample(now=NOW, raw_days=35)
    assert (again.buckets, again.deleted, again.dropped) == (0, 0, [])
    assert aggregates() == EXPECTED


def test_a_late_value_is_merged_into_its_bucket(data):
    measurements_downsample(now=NOW, raw_days=35)
    ingest([(None, "T-Z", "temperature", at(0, 47), 18.0)])
    measurements_downsample(now=NOW, raw_days=35)
    bucket = MeasurementAggregate.objects.get(series__quantity="temperature",
                                              bucket_start=at(0, 45))
    # 3 samples averaging 21.5 and one of 18.0: (64.5 + 18) / 4 = 20.625
    assert (bucket.samples, bucket.min_value, bucket.min_at, bucket.avg_value,
            bucket.max_value, bucket.max_at) == (4, 18.0, at(0, 47), 20.625, 23.5, at(0, 52))


def test_downsampling_keeps_organizations_apart(data, world_b):
    with organization_context(world_b.org):
        make_meter("PWR-Z", tz="Europe/Zurich")
        ingest([("PWR-Z", None, "active_power", at(0, 55), 800.0)])
    measurements_downsample(now=NOW, raw_days=35)
    with connection.cursor() as cursor:
        cursor.execute("SELECT a.organization_id = s.organization_id, count(*) FROM "
                       "readings_measurementaggregate a JOIN readings_measurementseries s "
                       "ON s.id = a.series_id GROUP BY 1")
        assert cursor.fetchall() == [(True, 6)]
    assert [r[3] for r in aggregates() if r[0] == "active_power"] == [1200.0]
    with organization_context(world_b.org):
        assert list(MeasurementAggregate.objects.values_list("avg_value", flat=True)) == [800.0]
