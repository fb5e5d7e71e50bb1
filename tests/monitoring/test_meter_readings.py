"""Scheduled meter reading (selector, API, page, CSV) on a hand-computed Zurich dataset:
readings at known instants around both DST changes of 2026, a gap of a week, a meter
replaced by another, a nonexistent and an ambiguous local time, and power measurements.

The dataset (``house``), all in Europe/Zurich (CEST = UTC+2 until 25 Oct 03:00 CEST,
CET = UTC+1 after; CET until 29 Mar 02:00 CET, CEST after):

E-1 (kWh) at flat 1, connected 20 Oct 2026 00:00 CEST with 0, read
    24 Oct 00:00 CEST (23 Oct 22:00 UTC)  100
    24 Oct 18:00 CEST (24 Oct 16:00 UTC)  118
    25 Oct 06:00 CET  (25 Oct 05:00 UTC)  131
    26 Oct 06:00 CET  (26 Oct 05:00 UTC)  155
    3 Nov 00:00 CET   (2 Nov 23:00 UTC)   341   (a gap of 186 h: 1 kWh an hour)
E-2 (kWh) at flat 2, connected 1 Oct 2026 with 0, read 1 Nov 00:00 CET (31 Oct 23:00 UTC)
    480, removed 1 Nov 12:00 CET (11:00 UTC) at 500, replaced there by
E-4 (kWh) connected 1 Nov 12:00 CET with 0, read 2 Nov 12:00 CET (11:00 UTC) 24.
W-1 (m³) at flat 2, connected 28 Mar 2026 12:00 CET (11:00 UTC) with 5, read
    29 Mar 00:00 CET (28 Mar 23:00 UTC) 10, 29 Mar 04:00 CEST (02:00 UTC) 13,
    30 Mar 02:30 CEST (00:30 UTC) 20.
Active power of E-1: 23 Oct 21:40 UTC 900 W, 24 Oct 21:55 UTC 1500 W, 24 Oct 22:05 UTC 2000 W.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.params_meter_readings import meter_readings_params
from monitoring.selectors import meter_readings as mr
from tests.conftest import api_client, login_client
from tests.monitoring.meter_readings_world import build_house

pytestmark = pytest.mark.django_db

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 12, 31, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def house(in_org_a):
    return build_house()


def _cells(report, serial=None):
    return [(r.point.label, r.value, r.basis) for r in report.rows
            if serial is None or r.meter.name == serial]


def test_daily_midnight_read_interpolated_across_dst_and_the_gap(house):
    report = mr.meter_readings(first=date(2026, 10, 24), last=date(2026, 10, 27),
                               meter_ids=[house["E-1"].pk])
    assert _cells(report) == [
        ("2026-10-24 00:00", Decimal("100.0000"), "read"),  # a reading at 23 Oct 22:00 UTC
        # 25 Oct 00:00 CEST = 24 Oct 22:00 UTC: 6 h into 16:00 (118) → 05:00 UTC (131), 13 h:
        # 118 + 13 × 6/13 = 124
        ("2026-10-25 00:00", Decimal("124.0000"), "interpolated"),
        # 26 Oct 00:00 CET = 25 Oct 23:00 UTC (offset now +1): 18 h into 05:00 (131) →
        # 26 Oct 05:00 UTC (155), 24 h: 131 + 24 × 18/24 = 149
        ("2026-10-26 00:00", Decimal("149.0000"), "interpolated"),
        # 27 Oct 00:00 CET = 26 Oct 23:00 UTC, 18 h into the 186 h gap from 26 Oct 05:00 UTC
        # (155) to 2 Nov 23:00 UTC (341): 155 + 186 × 18/186 = 173
        ("2026-10-27 00:00", Decimal("173.0000"), "interpolated"),
    ]
    assert [r.point.at.astimezone(UTC) for r in report.rows] == [
        utc(2026, 10, 23, 22), utc(2026, 10, 24, 22), utc(2026, 10, 25, 23),
        utc(2026, 10, 26, 23)]
    second = report.rows[1]
    assert second.note == "Between 2026-10-24 18:00 CEST and 2026-10-25 06:00 CET."
    assert second.sources == [(utc(2026, 10, 24, 16), Decimal("118.0000")),
                              (utc(2026, 10, 25, 5), Decimal("131.0000"))]
    assert second.billing_point.name == "Flat 1" and second.property.name == "Seehaus"


def test_hourly_on_the_autumn_day_has_25_points(house):
    report = mr.meter_readings(first=date(2026, 10, 25), last=date(2026, 10, 25), every="hour",
                               meter_ids=[house["E-1"].pk])
    # 1 kWh an hour from 24 Oct 16:00 UTC (118) through 05:00 (131) to 26 Oct 05:00 (155):
    # the n-th hour from 24 Oct 22:00 UTC reads 124 + n; 05:00 UTC (n = 7) is the reading
    assert len(report.rows) == 25
    assert [r.value for r in report.rows] == [Decimal(124 + n).quantize(Decimal("0.0001"))
                                              for n in range(25)]
    assert [r.point.label[11:] for r in report.rows[:5]] == [
        "00:00", "01:00", "02:00", "02:00", "03:00"]  # 02:00 twice: CEST, then CET
    assert [r.point.at.tzname() for r in report.rows[2:4]] == ["CEST", "CET"]
    assert [r.basis for r in report.rows].count("read") == 1
    assert report.rows[7].basis == "read" and report.rows[7].point.label == "2026-10-25 06:00"


def test_nonexistent_and_ambiguous_local_times_are_resolved_and_said(house):
    spring = mr.meter_readings(first=date(2026, 3, 28), last=date(2026, 3, 31), at=time(2, 30),
                               meter_ids=[house["W-1"].pk])
    rows = spring.rows
    assert _cells(spring) == [
        ("2026-03-28 02:30", None, ""),  # 01:30 UTC, before the connection at 11:00 UTC
        # 02:30 does not exist on 29 Mar: taken at 03:30 CEST = 01:30 UTC, 2.5 h into
        # 28 Mar 23:00 UTC (10) → 29 Mar 02:00 UTC (13): 10 + 3 × 2.5/3 = 12.5
        ("2026-03-29 02:30", Decimal("12.5000"), "interpolated"),
        ("2026-03-30 02:30", Decimal("20.0000"), "read"),  # 00:30 UTC, the reading
        ("2026-03-31 02:30", None, ""),  # 00:30 UTC 31 Mar: nothing after 30 Mar
    ]
    assert rows[0].note == "Before the meter was connected (2026-03-28 12:00 CET)."
    assert rows[1].point.at == utc(2026, 3, 29, 1, 30)
    assert rows[1].note.startswith(
        "02:30 does not exist on 29 Mar 2026 (clocks go forward): taken at 03:30 CEST.")
    assert rows[3].note == "No reading after the last one (2026-03-30 02:30 CEST)."
    autumn = mr.meter_readings(first=date(2026, 10, 25), last=date(2026, 10, 25),
                               at=time(2, 30), meter_ids=[house["E-1"].pk])
    (row,) = autumn.rows
    # the first 02:30 (CEST) = 00:30 UTC: 118 + 13 × 8.5/13 = 126.5
    assert row.point.at.astimezone(UTC) == utc(2026, 10, 25, 0, 30)  # (an ambiguous time
    # never equals an instant of another zone in Python: compare in UTC)
    assert (row.value, row.basis) == (Decimal("126.5000"), "interpolated")
    assert row.note.startswith("02:30 occurs twice on 25 Oct 2026 (clocks go back): the first, "
                               "CEST, is taken.")


def test_a_list_of_local_times(house):
    params = meter_readings_params({"every": "list", "meter": str(house["E-1"].public_id),
                                    "times": "2026-10-25 02:30,2026-10-24T00:00"})
    assert (params["first"], params["last"]) == (date(2026, 10, 24), date(2026, 10, 25))
    report = mr.meter_readings(**params)
    # in order; 02:30 on 25 Oct is the first (CEST) one, 126.5 as in the daily test above
    assert _cells(report) == [("2026-10-24 00:00", Decimal("100.0000"), "read"),
                              ("2026-10-25 02:30", Decimal("126.5000"), "interpolated")]
    assert "occurs twice" in report.rows[1].note
    with pytest.raises(ValidationError) as exc:
        meter_readings_params({"every": "list", "times": "2026-10-25 2:30"})
    assert exc.value.message_dict == {"times": [
        "Not a local time (YYYY-MM-DD HH:MM, no zone): '2026-10-25 2:30'."]}
    with pytest.raises(ValidationError) as exc:
        meter_readings_params({"every": "list"})
    assert list(exc.value.message_dict) == ["times"]


def test_month_end_and_a_replaced_meter(house):
    report = mr.meter_readings(first=date(2026, 10, 1), last=date(2026, 11, 30),
                               every="month_end", property_id=house["prop"].pk)
    by = {(r.meter.name, r.point.label): (r.value, r.basis, r.note) for r in report.rows}
    # 31 Oct 24:00 = 1 Nov 00:00 CET = 31 Oct 23:00 UTC; E-1: 155 + 138 h × 1 kWh = 293
    assert by["E-1", "2026-10-31 24:00"][:2] == (Decimal("293.0000"), "interpolated")
    assert by["E-1", "2026-11-30 24:00"] == (
        None, "", "No reading after the last one (2026-11-03 00:00 CET).")
    assert by["E-2", "2026-10-31 24:00"][:2] == (Decimal("480.0000"), "read")
    assert by["E-2", "2026-11-30 24:00"] == (
        None, "", "Meter removed 2026-11-01 12:00 CET, replaced by E-4.")
    assert by["E-4", "2026-10-31 24:00"] == (
        None, "", "Before the meter was connected (2026-11-01 12:00 CET).")
    # W-1 was in the property before October too: no reading after 30 Mar
    assert by["W-1", "2026-10-31 24:00"][:2] == (None, "")
    daily = mr.meter_readings(first=date(2026, 11, 1), last=date(2026, 11, 2),
                              billing_point_id=house["flat2"].pk, meter_ids=[house["E-4"].pk])
    # 2 Nov 00:00 CET = 1 Nov 23:00 UTC: 12 h into 1 Nov 11:00 UTC (initial 0) → 2 Nov
    # 11:00 UTC (24): 24 × 12/24 = 12
    assert _cells(daily) == [("2026-11-01 00:00", None, ""),
                             ("2026-11-02 00:00", Decimal("12.0000"), "interpolated")]


def test_measurements_at_or_before_the_point_within_the_tolerance(house):
    kwargs = {"first": date(2026, 10, 24), "last": date(2026, 10, 25),
              "meter_ids": [house["E-1"].pk], "measurements": ["active_power", "voltage_l1"]}
    report = mr.meter_readings(**kwargs)
    power = [r.measurements["active_power"] for r in report.rows]
    # 24 Oct 00:00 CEST = 23 Oct 22:00 UTC: 900 W at 21:40 is 20 min before (> 15 min)
    assert power[0] == mr.MeasuredValue(None, None, "W")
    # 25 Oct 00:00 CEST = 24 Oct 22:00 UTC: 1500 W at 21:55; 2000 W at 22:05 is after it
    assert power[1] == mr.MeasuredValue(1500.0, utc(2026, 10, 24, 21, 55), "W")
    assert report.rows[1].measurements["voltage_l1"] == mr.MeasuredValue(None, None, "V")
    wider = mr.meter_readings(**kwargs, tolerance=timedelta(minutes=30))
    assert wider.rows[0].measurements["active_power"].value == 900.0


def test_a_fixed_number_of_queries_whatever_the_meters_and_points(house):
    def count(**kwargs) -> int:
        with CaptureQueriesContext(connection) as ctx:
            mr.meter_readings(measurements=["active_power"], **kwargs)
        return len(ctx.captured_queries)

    one = count(first=date(2026, 10, 24), last=date(2026, 10, 24), meter_ids=[house["E-1"].pk])
    many = count(first=date(2026, 3, 1), last=date(2026, 7, 31), every="hour",
                 property_id=house["prop"].pk)  # 4 meters × 3,671 hours
    # meters; assignments; readings near every point (and once more for the points with
    # none within 45 days: W-1 after 30 Mar); measurement series; measurements
    assert one <= 5 and many <= one + 1


def test_too_many_cells_is_refused_with_the_count(house):
    with pytest.raises(ValidationError) as exc:
        mr.meter_readings(first=date(2026, 1, 1), last=date(2026, 12, 31), every="hour",
                          property_id=house["prop"].pk)
    # 4 meters × 8,760 hours (a year: 8,759 + 1 from the two DST days cancel) = 35,040
    assert exc.value.message_dict["to"] == [
        "4 meters × 8760 time points = 35040 values; at most 20,000 at once: shorten the "
        "period, read less often or choose fewer meters."]


def test_bad_parameters_name_the_field(house, world_a):
    with pytest.raises(ValidationError) as exc:
        meter_readings_params({"from": "2026-13-01", "every": "week", "at": "25:00",
                               "meter": "nope", "measurements": "temperature",
                               "tolerance": "-3", "property": str(house["prop"].public_id)})
    errors = exc.value.message_dict
    assert set(errors) == {"from", "to", "every", "at", "meter", "measurements", "tolerance"}
    assert errors["to"] == ["Required: a local date (YYYY-MM-DD)."]
    assert errors["every"] == [
        "Unknown schedule 'week': use any of hour, day, month_end, list."]
    assert errors["at"] == ["Not a local time (HH:MM, 00:00–23:59): '25:00'."]
    with pytest.raises(ValidationError) as exc:
        meter_readings_params({"from": "2026-10-02", "to": "2026-10-01"})
    assert exc.value.message_dict == {"to": ["Must not be before from."]}


# --- API, page, CSV ---------------------------------------------------------------------------


def test_api_answers_values_and_marks(house, world_a):
    client = api_client(user=world_a.admin)
    response = client.get("/api/v1/monitoring/meter-readings/", {
        "from": "2026-10-24", "to": "2026-10-25", "meter": str(house["E-1"].public_id),
        "measurements": "active_power"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["every"] == "day" and body["at"] == "00:00"
    first, second = body["rows"]
    assert first["meter"] == {"id": str(house["E-1"].public_id), "name": "E-1"}
    assert (first["local_time"], first["time"], first["value"], first["basis"]) == (
        "2026-10-24 00:00", "2026-10-23T22:00:00Z", "100.0000", "read")
    assert (second["value"], second["basis"], second["unit"]) == (
        "124.0000", "interpolated", "kWh")
    assert second["measurements"]["active_power"] == {
        "value": 1500.0, "measured_at": "2026-10-24T21:55:00Z", "unit": "W"}


def test_api_bad_input_is_400_naming_the_field(house, world_a):
    client = api_client(user=world_a.admin)
    response = client.get("/api/v1/monitoring/meter-readings/",
                          {"from": "2026-10-24", "to": "2026-10-25", "every": "fortnight"})
    assert response.status_code == 400
    assert "every" in response.json()["error"]["fields"]


def test_page_marks_interpolated_values_and_exports_csv(house, world_a):
    client = login_client(world_a.admin, world_a.org)
    query = {"from": "2026-10-24", "to": "2026-10-25", "meter": str(house["E-1"].public_id)}
    page = client.get("/monitoring/meter-readings/", query).content.decode()
    assert "124.0000" in page and 'data-basis="interpolated"' in page
    assert "Legend" in page or "legend" in page
    response = client.get("/monitoring/meter-readings/", {**query, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:9] == ["Property", "Billing point", "Meter", "Local time", "Zone",
                           "Instant (UTC)", "Register", "Unit", "Basis"]
    assert rows[1][2:9] == ["E-1", "2026-10-24 00:00", "CEST", "2026-10-23T22:00:00+00:00",
                            "100.0000", "kWh", "read"]
    assert rows[2][6:9] == ["124.0000", "kWh", "interpolated"]
