"""Consumption: interpolation, rollover, replacement, multiplier, estimation, many meters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meters.models import BillingPoint, MeterAssignment, MeterType
from readings.selectors import billing_point_consumption, meter_consumption
from tests.readings.helpers import T0, ingest, make_meter

pytestmark = pytest.mark.django_db


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def iso(n: float) -> str:
    return day(n).isoformat()


def test_interpolates_at_the_period_boundaries(in_org_a):
    meter = make_meter()
    ingest(("E-1", iso(0), "100"), ("E-1", iso(10), "200"), ("E-1", iso(20), "400"))
    result = meter_consumption(meter_ids=[meter.id], start=day(5), end=day(15))[meter.id]
    assert result.quantity == Decimal("150")  # 150 at day 5 → 300 at day 15
    assert not result.estimated and not result.missing


def test_across_rollover(in_org_a):
    meter = make_meter(digits=4)
    ingest(("E-1", iso(0), "9900"), ("E-1", iso(10), "9990"), ("E-1", iso(20), "80"))
    result = meter_consumption(meter_ids=[meter.id], start=day(0), end=day(20))[meter.id]
    assert result.quantity == Decimal("180")


def test_times_the_multiplier(in_org_a):
    meter = make_meter(multiplier="40")
    ingest(("E-1", iso(0), "10"), ("E-1", iso(30), "12.5"))
    result = meter_consumption(meter_ids=[meter.id], start=day(0), end=day(30))[meter.id]
    assert result.quantity == Decimal("100")


def test_across_meter_replacement_at_a_billing_point(in_org_a):
    old = make_meter("OLD", initial="1000")
    point = BillingPoint.objects.get(connection_id="BP-OLD")
    ingest(("OLD", iso(0), "1000"), ("OLD", iso(10), "1100"))
    MeterAssignment.objects.filter(meter=old).update(
        removed_at=day(15), final_reading=Decimal("1150")
    )
    new = make_meter("NEW", connected_at=day(15), initial="5", billing_point=point)
    ingest(("NEW", iso(25), "105"))
    by_point = billing_point_consumption(billing_point_ids=[point.id], start=day(0), end=day(25))
    assert by_point[(point.id, MeterType.ELECTRICITY)].quantity == Decimal("250")  # 150 + 100
    per_meter = meter_consumption(meter_ids=[old.id, new.id], start=day(0), end=day(25))
    assert (per_meter[old.id].quantity, per_meter[new.id].quantity) == (
        Decimal("150"),
        Decimal("100"),
    )


def test_starts_from_the_initial_reading_after_connection(in_org_a):
    meter = make_meter(initial="50", connected_at=day(10))
    ingest(("E-1", iso(20), "70"))
    result = meter_consumption(meter_ids=[meter.id], start=day(0), end=day(20))[meter.id]
    assert result.quantity == Decimal("20")


def test_missing_end_is_estimated_from_recent_daily_use_and_flagged(in_org_a):
    meter = make_meter()
    ingest(*[("E-1", iso(d), str(d * 4)) for d in range(0, 11)])  # 4 a day
    result = meter_consumption(meter_ids=[meter.id], start=day(5), end=day(15))[meter.id]
    assert result.quantity == Decimal("40")  # 20 measured + 5 days × 4 estimated
    assert result.estimated and "estimated after" in result.notes[0]


def test_no_history_is_missing_not_zero(in_org_a):
    meter = make_meter()
    result = meter_consumption(meter_ids=[meter.id], start=day(5), end=day(15))[meter.id]
    assert result.quantity is None and result.missing


def test_period_outside_the_assignment_is_zero_not_estimated(in_org_a):
    meter = make_meter(connected_at=day(100))
    result = meter_consumption(meter_ids=[meter.id], start=day(0), end=day(30))[meter.id]
    assert result.quantity == Decimal("0") and not result.estimated


def test_a_few_queries_for_many_meters(in_org_a):
    meters = [make_meter(f"M-{i}", initial="0") for i in range(30)]
    ingest(*[(m.serial_number, iso(d), str(d * 2)) for m in meters for d in (0, 10, 40)])
    with CaptureQueriesContext(connection) as queries:
        result = meter_consumption(meter_ids=[m.id for m in meters], start=day(5), end=day(35))
    assert len(queries) <= 4
    assert {c.quantity for c in result.values()} == {Decimal("60")}


def test_dst_period_in_property_time_zone(in_org_a):
    meter = make_meter(tz="Europe/Berlin")
    start = datetime(2025, 3, 30, tzinfo=UTC) - timedelta(hours=1)  # local midnight
    end = datetime(2025, 3, 31, tzinfo=UTC) - timedelta(hours=2)  # next local midnight: 23 h
    ingest(
        ("E-1", start.isoformat(), "0"), ("E-1", (start + timedelta(hours=46)).isoformat(), "46")
    )
    assert meter_consumption(meter_ids=[meter.id], start=start, end=end)[
        meter.id
    ].quantity == Decimal("23")


def test_consecutive_periods_in_one_go_match_single_periods(in_org_a):
    from readings.selectors import meter_consumption_periods

    meter = make_meter()
    ingest(*[("E-1", iso(d), str(d * 3 + (d // 7))) for d in range(0, 60, 2)])
    periods = [(day(0), day(10)), (day(10), day(31)), (day(31), day(70))]
    with CaptureQueriesContext(connection) as queries:
        series = meter_consumption_periods(meter=meter, periods=periods)
    assert len(queries) <= 5
    singles = [
        meter_consumption(meter_ids=[meter.id], start=s, end=e)[meter.id] for s, e in periods
    ]
    assert [c.quantity for c in series] == [c.quantity for c in singles]
    assert series[-1].estimated and not series[0].estimated
