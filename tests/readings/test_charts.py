"""The manager's meter charts: the month in progress is what was used so far (up to the
latest reading), not a projection to the month's end; months carry their year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from readings.charts import meter_day_chart, meter_month_chart
from tests.readings.helpers import ingest, make_meter

pytestmark = pytest.mark.django_db
UTC_ZONE = ZoneInfo("UTC")


def test_month_in_progress_counts_up_to_the_latest_reading_not_the_month_end(in_org_a):
    now = datetime(2026, 12, 15, 12, tzinfo=UTC)
    meter = make_meter("SOFAR-1", connected_at=datetime(2026, 10, 1, tzinfo=UTC), tz="UTC")
    # 10 kWh a day from 1 Oct to 11 Dec (the latest reading), then nothing more read
    days = (datetime(2026, 12, 11, tzinfo=UTC) - datetime(2026, 10, 1, tzinfo=UTC)).days
    ingest(*[("SOFAR-1", (datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=n)).isoformat(),
              str(10 * n)) for n in range(days + 1)], now=now)
    chart = meter_month_chart(meter=meter, tz=UTC_ZONE, months=4, now=now)
    assert chart.labels == ["Sep 2026", "Oct 2026", "Nov 2026", "Dec 2026, so far"]
    assert chart.so_far == [False, False, False, True]
    main = chart.series[0]
    assert main.values[1] == Decimal(310) and main.values[2] == Decimal(300)
    # 1-11 Dec: 10 days read, not 31 days projected from the daily use
    assert main.values[3] == Decimal(100)
    assert main.notes[3] == "" and main.marks[3] == ""
    assert main.values[0] == 0  # before the meter was connected
    assert chart.data()["series"][0]["text"][3] == "100 kWh"
    assert chart.unit == "kWh" and chart.x_title == "Month (UTC)"


def test_a_month_with_no_reading_yet_has_no_value_rather_than_a_projection(in_org_a):
    now = datetime(2026, 12, 15, 12, tzinfo=UTC)
    meter = make_meter("SOFAR-2", connected_at=datetime(2026, 10, 1, tzinfo=UTC), tz="UTC")
    ingest(*[("SOFAR-2", datetime(2026, m, 1, tzinfo=UTC).isoformat(), str(v))
             for m, v in ((10, 0), (11, 300))], now=now)
    chart = meter_month_chart(meter=meter, tz=UTC_ZONE, months=3, now=now, compare=False)
    assert chart.series[0].values == [Decimal(300), None, None]
    assert chart.series[0].notes[1:] == ["no data", "no data"]
    assert len(chart.series) == 1


def test_a_year_earlier_is_a_comparison_line(in_org_a):
    now = datetime(2026, 12, 15, 12, tzinfo=UTC)
    meter = make_meter("CMP-1", connected_at=datetime(2025, 1, 1, tzinfo=UTC), tz="UTC")
    ingest(*[("CMP-1", datetime(2025 + (m - 1) // 12, (m - 1) % 12 + 1, 1, tzinfo=UTC)
              .isoformat(), str(100 * m)) for m in range(1, 25)], now=now)
    chart = meter_month_chart(meter=meter, tz=UTC_ZONE, months=12, now=now)
    earlier = chart.series[1]
    assert earlier.compare and earlier.kind == "line"
    assert chart.labels[0] == "Jan 2026" and earlier.values[0] == Decimal(100)  # Jan 2025


def test_day_chart_labels_carry_weekday_and_year(in_org_a):
    now = datetime(2026, 12, 15, 12, tzinfo=UTC)
    meter = make_meter("DAYS-1", connected_at=datetime(2026, 11, 1, tzinfo=UTC), tz="UTC")
    ingest(*[("DAYS-1", (datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=n)).isoformat(),
              str(5 * n)) for n in range(14)], now=now)  # the latest on 14 Dec 00:00
    chart = meter_day_chart(meter=meter, tz=UTC_ZONE, days=7, now=now)
    assert chart.labels[-1] == "Mon 14 Dec 2026" and chart.series[0].values[-1] is None
    assert chart.series[0].values[-2] == Decimal(5)
    assert chart.ticks[0] == "8 Dec\n2026"
