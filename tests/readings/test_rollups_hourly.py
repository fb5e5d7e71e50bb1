"""Hourly consumption rollups: hand-computed hours, DST days, rollover, late data, and
Σ hourly == daily == the consumption selector == the invoice's usage line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from billing import services as billing_services
from billing.models import LineKind
from billspree.core.timefmt import local_midnight
from meters.models import MeterAssignment
from readings.models import DailyConsumption, HourlyConsumption, MonthlyConsumption
from readings.selectors import meter_consumption
from tests.billing.builders import at as berlin_at
from tests.billing.builders import make_house, read
from tests.readings.helpers import ingest, make_meter

pytestmark = pytest.mark.django_db

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 12, 31, tzinfo=UTC)
H = timedelta(hours=1)


def hours_of(meter, first: datetime | None = None, end: datetime | None = None):
    qs = HourlyConsumption.objects.filter(meter=meter)
    if first is not None:
        qs = qs.filter(hour__gte=first, hour__lt=end)
    return dict(qs.order_by("hour").values_list("hour", "quantity"))


def day_hours(meter, day: date, tz=ZURICH) -> dict[datetime, Decimal]:
    return hours_of(meter, local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz))


def daily(meter) -> dict[date, Decimal]:
    return dict(DailyConsumption.objects.filter(meter=meter).values_list("day", "quantity"))


def assert_hours_add_up(meter, tz=ZURICH) -> None:
    """Every stored day is the sum of its hours, and each hour the selector's for that hour
    (multiplier 1: the boundary totals are the selector's, so no rounding in between)."""
    days = daily(meter)
    assert days
    for day, quantity in days.items():
        hours = day_hours(meter, day, tz)
        assert sum(hours.values()) == quantity, day
        if meter.multiplier == 1:
            found = meter_consumption(meter_ids=[meter.id], start=min(hours), end=max(hours) + H)
            assert found[meter.id].quantity == quantity
            for hour in list(hours)[:3]:
                one = meter_consumption(meter_ids=[meter.id], start=hour, end=hour + H)
                assert one[meter.id].quantity == hours[hour], hour


def test_autumn_dst_day_has_25_hours_across_a_rollover(in_org_a):
    """Zurich, Sunday 25 Oct 2026: 25 hours. A 3-digit register from 950, +4 each hour, rolls
    over in the 13th hour: every hour is 4 kWh, the day 100."""
    start = local_midnight(date(2026, 10, 25), ZURICH).astimezone(UTC)  # 2026-10-24 22:00 UTC
    meter = make_meter(digits=3, initial="950", connected_at=start, tz="Europe/Zurich")
    ingest(*[("E-1", (start + k * H).isoformat(), str((950 + 4 * k) % 1000))
             for k in range(1, 28)], now=NOW)
    hours = day_hours(meter, date(2026, 10, 25))
    assert len(hours) == 25
    assert list(hours) == [start + k * H for k in range(25)]
    assert set(hours.values()) == {Decimal("4.0000")}
    assert daily(meter)[date(2026, 10, 25)] == Decimal("100.0000")
    assert MonthlyConsumption.objects.get(meter=meter).quantity == Decimal("100.0000")
    assert_hours_add_up(meter)


def test_spring_dst_day_has_23_interpolated_hours(in_org_a):
    """Zurich, Sunday 29 Mar 2026 (23 hours), read every 90 minutes, 3 kWh each: the hour
    edges between readings are interpolated, 2 kWh an hour, 46 kWh that day."""
    start = local_midnight(date(2026, 3, 29), ZURICH).astimezone(UTC)  # 2026-03-28 23:00 UTC
    meter = make_meter(connected_at=start, tz="Europe/Zurich")
    step = timedelta(minutes=90)
    ingest(*[("E-1", (start + k * step).isoformat(), str(3 * k)) for k in range(1, 20)], now=NOW)
    hours = day_hours(meter, date(2026, 3, 29))
    assert len(hours) == 23
    assert set(hours.values()) == {Decimal("2.0000")}
    assert daily(meter)[date(2026, 3, 29)] == Decimal("46.0000")
    assert_hours_add_up(meter)


def test_irregular_readings_and_a_multiplier_hand_computed(in_org_a):
    """Readings 22:00 → 0, 22:30 → 1, 00:00 → 7 (UTC; Zurich's 25 Oct begins at 22:00 UTC
    the day before). At 23:00 the register is interpolated: 1 + 6 × 30/90 = 3. With a
    current transformer ×1.5 the hours are (3 − 0) × 1.5 = 4.5 and (7 − 3) × 1.5 = 6."""
    start = local_midnight(date(2026, 10, 25), ZURICH).astimezone(UTC)
    meter = make_meter(multiplier="1.5", connected_at=start, tz="Europe/Zurich")
    points = [(start, "0"), (start + H / 2, "1"), (start + 2 * H, "7"), (start + 26 * H, "57")]
    ingest(*[("E-1", t.isoformat(), v) for t, v in points], now=NOW)
    hours = day_hours(meter, date(2026, 10, 25))
    assert hours[start] == Decimal("4.5000")
    assert hours[start + H] == Decimal("6.0000")
    # the day ends at 25 h: 7 + 50 × 23/24 = 54.9167; × 1.5 = 82.37505, half-even 82.3750
    assert sum(hours.values()) == daily(meter)[date(2026, 10, 25)] == Decimal("82.3750")
    assert len(hours) == 25
    assert_hours_add_up(meter)


def test_late_reading_rebuilds_the_hours_it_changes(in_org_a):
    start = local_midnight(date(2026, 10, 25), ZURICH).astimezone(UTC)
    meter = make_meter(connected_at=start, tz="Europe/Zurich")
    ingest(*[("E-1", (start + k * 3 * H).isoformat(), str(30 * k)) for k in range(1, 10)],
           now=NOW)
    before = day_hours(meter, date(2026, 10, 25))
    assert before[start + 4 * H] == Decimal("10.0000")
    # a back-filled reading at 04:00 UTC + 30 min: the hours between 03:00 and 06:00 move
    late = start + 4 * H + H / 2
    ingest(("E-1", late.isoformat(), "55"), now=NOW)
    after = day_hours(meter, date(2026, 10, 25))
    # 03:00 = 30, late = 55 at 4.5 h, 06:00 = 60: 30 → 4 h: 30 + 25/1.5 = 46.6667
    assert after[start + 3 * H] == Decimal("16.6667")
    # 05:00 = 55 + 5 × 0.5/1.5 = 56.6667
    assert after[start + 4 * H] == Decimal("10.0000")  # 56.6667 − 46.6667
    assert after[start + 5 * H] == Decimal("3.3333")  # 60 − 56.6667
    assert after[start] == before[start]
    assert sum(after.values()) == sum(before.values()) == daily(meter)[date(2026, 10, 25)]
    assert_hours_add_up(meter)


def test_rebuild_after_an_assignment_change_replaces_the_hours(in_org_a):
    start = local_midnight(date(2026, 10, 25), ZURICH).astimezone(UTC)
    meter = make_meter(connected_at=start, tz="Europe/Zurich")
    ingest(*[("E-1", (start + k * H).isoformat(), str(2 * k)) for k in range(1, 30)], now=NOW)
    assert len(day_hours(meter, date(2026, 10, 25))) == 25
    MeterAssignment.objects.filter(meter=meter).update(connected_at=start + 10 * H)
    call_command("readings_rollups", "--from", "2026-10-25", "--to", "2026-10-25")
    hours = day_hours(meter, date(2026, 10, 25))
    assert list(hours) == [start + k * H for k in range(10, 25)]
    assert sum(hours.values()) == daily(meter)[date(2026, 10, 25)] == Decimal("30.0000")


def test_hours_days_month_selector_and_invoice_agree(in_org_a):
    """September 2026 of a Berlin flat read every 5 h with uneven values: Σ hourly over the
    month == Σ daily == the monthly rollup == the selector == the issued invoice's usage line."""
    berlin = ZoneInfo("Europe/Berlin")
    house = make_house(connected=date(2026, 8, 30), initial="1000", flat="0.25")
    first = berlin_at(date(2026, 8, 30)).astimezone(UTC)
    points = [(first + k * 5 * H, f"{1000 + Decimal('1.37') * k + Decimal('0.013') * (k % 5)}")
              for k in range(1, 5 * 33)]
    read(house.meter, *points)
    start, end = berlin_at(date(2026, 9, 1)), berlin_at(date(2026, 10, 1))
    hours = hours_of(house.meter, start, end)
    assert len(hours) == 30 * 24
    days = {d: q for d, q in daily(house.meter).items() if d.month == 9}
    assert len(days) == 30
    month = MonthlyConsumption.objects.get(meter=house.meter, month=date(2026, 9, 1))
    selector = meter_consumption(meter_ids=[house.meter.id], start=start, end=end)
    invoice = billing_services.invoice_create_draft(
        subscriptions=[house.subscription], start=date(2026, 9, 1), end=date(2026, 10, 1))[0]
    invoice = billing_services.invoice_issue(invoice=invoice)
    usage = invoice.lines.get(kind=LineKind.USAGE)
    assert sum(hours.values()) == sum(days.values()) == month.quantity
    assert month.quantity == selector[house.meter.id].quantity == usage.quantity
    assert_hours_add_up(house.meter, berlin)


def test_a_deleted_meter_takes_its_hours_with_it(in_org_a):
    """The hours have no foreign-key constraint in the database (a rebuild writes millions of
    them); Django's cascade still deletes them with their meter, and nobody else's."""
    from readings.models import Reading

    start = local_midnight(date(2026, 10, 25), ZURICH).astimezone(UTC)
    meter = make_meter(connected_at=start, tz="Europe/Zurich")
    other = make_meter(serial="E-2", connected_at=start, tz="Europe/Zurich")
    ingest(*[(serial, (start + k * H).isoformat(), str(2 * k)) for k in range(1, 27)
             for serial in ("E-1", "E-2")], now=NOW)
    assert len(hours_of(meter)) == len(hours_of(other)) == 25
    Reading.objects.filter(meter=meter).delete()
    MeterAssignment.objects.filter(meter=meter).delete()
    meter.delete()
    assert not HourlyConsumption.objects.filter(meter_id=meter.id).exists()
    assert not DailyConsumption.objects.filter(meter_id=meter.id).exists()
    assert len(hours_of(other)) == 25
