"""Trends (selector, API, page, CSV) on a small hand-computed dataset: a Zurich house read
every hour around the autumn DST day (25 Oct 2026 has 25 hours), a meter that moves
between billing points, and a meter with a gap in its readings.

Dataset (all meters connected 24 Oct 00:00 local, register 0; readings hourly until
27 Oct 12:00 local, so 24, 25 and 26 Oct are complete days, 27 Oct is not):
- E-1 (flat 1): 2 kWh an hour.
- E-3: 1 kWh an hour, at flat 1 until 25 Oct 12:00 local, then at flat 2.
- W-1 (flat 2): 1 m³ an hour (another unit).
- G-1 (flat 2): 1 kWh an hour until 24 Oct 12:00 local (register 12), then no reading until
  26 Oct 00:00 local, 37 hours later, at 86 (the invoices interpolate the gap at
  74 / 37 = 2 kWh an hour), then 1 kWh an hour again.
"""

from __future__ import annotations

import csv
import html
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from monitoring.selectors.trends import Selection, comparison_period, trend
from readings.selectors import meter_consumption
from tests.conftest import api_client, login_client
from tests.readings.helpers import ingest

pytestmark = pytest.mark.django_db

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 12, 31, tzinfo=UTC)
H = timedelta(hours=1)
START = local_midnight(date(2026, 10, 24), ZURICH).astimezone(UTC)  # 23 Oct 22:00 UTC
MOVE = datetime(2026, 10, 25, 12, tzinfo=ZURICH).astimezone(UTC)
HOURS = 24 + 25 + 24 + 12  # 24 Oct 00:00 local → 27 Oct 12:00 local
GAP_END = 24 + 25  # 26 Oct 00:00 local, hours after START
D = Decimal


def _meter(serial, bp, type_=MeterType.ELECTRICITY, unit="kWh", removed=None):
    meter = Meter.objects.create(serial_number=serial, type=type_, unit=unit, register_digits=6)
    MeterAssignment.objects.create(meter=meter, billing_point=bp, connected_at=START,
                                   removed_at=removed, initial_reading=D(0),
                                   final_reading=None if removed is None else
                                   D((removed - START) // H))
    return meter


@pytest.fixture
def house(in_org_a):
    prop = Property.objects.create(name="Seehaus", time_zone="Europe/Zurich")
    flat1 = BillingPoint.objects.create(property=prop, connection_id="Z-1", name="Flat 1")
    flat2 = BillingPoint.objects.create(property=prop, connection_id="Z-2", name="Flat 2")
    e1 = _meter("E-1", flat1)
    _meter("W-1", flat2, MeterType.COLD_WATER, "m³")
    e3 = _meter("E-3", flat1, removed=MOVE)
    MeterAssignment.objects.create(meter=e3, billing_point=flat2, connected_at=MOVE,
                                   initial_reading=D((MOVE - START) // H))
    g1 = _meter("G-1", flat2)
    rows = []
    for k in range(1, HOURS + 1):
        t = (START + k * H).isoformat()
        rows += [("E-1", t, str(2 * k)), ("W-1", t, str(k)), ("E-3", t, str(k))]
        if k <= 12:
            rows.append(("G-1", t, str(k)))
        elif k >= GAP_END:
            rows.append(("G-1", t, str(86 + k - GAP_END)))
    ingest(*rows, now=NOW)
    return {"prop": prop, "flat1": flat1, "flat2": flat2, "e1": e1, "e3": e3, "g1": g1}


def _days(t):
    return [(p.at, p.quantity) for p in t.points]


def test_days_of_a_billing_point_count_a_moved_meter_where_the_day_began(house):
    t = trend(first=date(2026, 10, 24), last=date(2026, 10, 27), resolution="day",
              selection=Selection(billing_points=(house["flat1"].pk,)))
    assert t.unit == "kWh"
    assert _days(t) == [
        (date(2026, 10, 24), D("72.0000")),  # E-1 24 h × 2 + E-3 24 h × 1
        (date(2026, 10, 25), D("75.0000")),  # 25 h × (2 + 1): E-3 moved at noon
        (date(2026, 10, 26), D("48.0000")),  # E-1 only
        (date(2026, 10, 27), None),  # not complete: no value, not zero
    ]
    assert t.total == D("195.0000")


def test_a_meter_with_a_gap_is_interpolated_as_on_the_invoice(house):
    t = trend(first=date(2026, 10, 24), last=date(2026, 10, 27), resolution="day",
              selection=Selection(meters=(house["g1"].pk,)))
    # 24 Oct: 12 h × 1 + 12 h × 2 = 36; 25 Oct: 25 h × 2 = 50; 26 Oct: 24 h × 1 = 24
    assert _days(t) == [(date(2026, 10, 24), D("36.0000")), (date(2026, 10, 25), D("50.0000")),
                        (date(2026, 10, 26), D("24.0000")), (date(2026, 10, 27), None)]
    invoice = meter_consumption(meter_ids=[house["g1"].pk], start=START,
                                end=local_midnight(date(2026, 10, 27), ZURICH))
    assert invoice[house["g1"].pk].quantity == t.total == D(110)  # the kWh on the bill


def test_hours_of_the_25_hour_day(house):
    t = trend(first=date(2026, 10, 25), last=date(2026, 10, 25), resolution="hour",
              selection=Selection(meters=(house["g1"].pk, house["e1"].pk)))
    assert t.zone == ZURICH
    assert len(t.points) == 25  # 24 Oct 22:00 UTC … 25 Oct 22:00 UTC
    assert t.points[0].at == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert {p.quantity for p in t.points} == {D(4)}  # E-1 2 + G-1 2 (the gap) each hour
    assert t.total == D(100)


def test_a_selection_counts_each_meter_hour_once(house):
    """flat 1 and E-3 (partly in flat 1): E-3 is counted once, at flat 2 too when chosen."""
    t = trend(first=date(2026, 10, 24), last=date(2026, 10, 26), resolution="day",
              selection=Selection(meters=(house["e3"].pk,),
                                  billing_points=(house["flat1"].pk,)))
    # 24: 48 + 24; 25: 50 + 25; 26: E-1 48 + E-3 24 (at flat 2, chosen as a meter)
    assert _days(t) == [(date(2026, 10, 24), D(72)), (date(2026, 10, 25), D(75)),
                        (date(2026, 10, 26), D(72))]
    prop = trend(first=date(2026, 10, 24), last=date(2026, 10, 26), resolution="day",
                 selection=Selection(properties=(house["prop"].pk,), meters=(house["e1"].pk,)),
                 meter_type="electricity")
    # E-1 + E-3 + G-1: 24: 48 + 24 + 36; 25: 50 + 25 + 50; 26: 48 + 24 + 24
    assert _days(prop) == [(date(2026, 10, 24), D(108)), (date(2026, 10, 25), D(125)),
                           (date(2026, 10, 26), D(96))]


def test_hourly_comparison_with_the_previous_day_aligns_local_hours(house):
    """26 Oct (24 h) against 25 Oct (25 h): each local hour against the same local hour;
    the repeated 02:00 of 25 Oct (01:00 UTC) has no partner but counts in the total."""
    t = trend(first=date(2026, 10, 26), last=date(2026, 10, 26), resolution="hour",
              comparison="previous", selection=Selection(meters=(house["e1"].pk,)))
    assert (t.compare_first, t.compare_last) == (date(2026, 10, 25), date(2026, 10, 25))
    assert len(t.points) == 24
    two = t.points[2]  # 26 Oct 02:00 local = 01:00 UTC
    assert two.at == datetime(2026, 10, 26, 1, tzinfo=UTC)
    assert two.compare_at == datetime(2026, 10, 25, 0, tzinfo=UTC)  # 02:00 CEST
    three = t.points[3]
    assert three.compare_at == datetime(2026, 10, 25, 2, tzinfo=UTC)  # 03:00 CET
    assert datetime(2026, 10, 25, 1, tzinfo=UTC) not in {p.compare_at for p in t.points}
    assert all(p.compare_quantity == D(2) and p.change_percent == D("0.0") for p in t.points)
    assert (t.total, t.compare_total) == (D(48), D(50))  # 24 h × 2, 25 h × 2
    assert t.change_percent == D("-4.0")  # (48 − 50) / 50


def test_day_comparison_with_the_previous_period(house):
    t = trend(first=date(2026, 10, 25), last=date(2026, 10, 26), resolution="day",
              comparison="previous", selection=Selection(billing_points=(house["flat1"].pk,)))
    assert (t.compare_first, t.compare_last) == (date(2026, 10, 23), date(2026, 10, 24))
    assert [(p.at, p.quantity, p.compare_at, p.compare_quantity) for p in t.points] == [
        (date(2026, 10, 25), D(75), date(2026, 10, 23), None),  # nothing before connection
        (date(2026, 10, 26), D(48), date(2026, 10, 24), D(72)),
    ]
    assert (t.total, t.compare_total) == (D(123), D(72))
    assert t.points[1].change_percent == D("-33.3")  # (48 − 72) / 72


def test_months_and_a_year_earlier(house):
    t = trend(first=date(2026, 10, 1), last=date(2026, 10, 31), resolution="month",
              comparison="last_year", meter_type="electricity")
    # the monthly rollup: E-1 146 + E-3 73 + G-1 110
    assert _days(t) == [(date(2026, 10, 1), D(329))]
    assert (t.compare_first, t.compare_last) == (date(2025, 10, 1), date(2025, 10, 31))
    assert t.points[0].compare_at == date(2025, 10, 1) and t.compare_total is None
    part = trend(first=date(2026, 10, 20), last=date(2026, 11, 5), resolution="month",
                 meter_type="electricity")
    assert _days(part) == [(date(2026, 10, 1), D(329)), (date(2026, 11, 1), None)]


def test_comparison_periods_by_hand():
    assert comparison_period(date(2026, 2, 1), date(2026, 3, 31), "month", "previous") == (
        date(2025, 12, 1), date(2026, 1, 31))
    assert comparison_period(date(2024, 2, 29), date(2024, 2, 29), "day", "last_year") == (
        date(2023, 2, 28), date(2023, 2, 28))
    assert comparison_period(date(2026, 10, 1), date(2026, 10, 10), "day", "previous") == (
        date(2026, 9, 21), date(2026, 9, 30))


def test_a_selection_of_two_units_must_name_a_meter_type(house):
    with pytest.raises(ValidationError) as exc:
        trend(first=date(2026, 10, 24), last=date(2026, 10, 26),
              selection=Selection(properties=(house["prop"].pk,)))
    assert "kWh and m³" in exc.value.message_dict["meter_type"][0]


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"to": "2026-10-31"}, "from", "first local day"),
    ({"from": "2026-10-31", "to": "2026-10-01"}, "to", "before it begins"),
    ({"from": "2026-13-01", "to": "2026-10-31"}, "from", "Not a date"),
    ({"from": "2025-01-01", "to": "2026-10-31", "resolution": "hour"}, "resolution", "366"),
    ({"from": "2020-01-01", "to": "2026-10-31"}, "to", "at most"),
    ({"from": "2026-10-01", "to": "2026-10-31", "resolution": "week"}, "resolution", "'week'"),
    ({"from": "2026-10-01", "to": "2026-10-31", "compare": "yesterday"}, "compare",
     "'yesterday'"),
    ({"from": "2026-10-01", "to": "2026-10-31", "meter": "nope"}, "meter", "valid id"),
    ({"from": "2026-10-01", "to": "2026-10-31", "billing_point": str(uuid.UUID(int=7))},
     "billing_point", "No billing point"),
    ({"from": "2026-10-01", "to": "2026-10-31", "meter_type": "steam"}, "meter_type", "steam"),
])
def test_bad_parameters_get_a_clear_error_by_name(world_a, query, field, words):
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/trends/", query)
    assert response.status_code == 400, response.content
    assert words in str(response.json()) and field in str(response.json()), response.json()
    page = login_client(world_a.viewer, world_a.org).get("/monitoring/trends/", query)
    assert page.status_code == 200 and words in html.unescape(page.content.decode())


def test_another_organizations_meter_is_unknown(house, world_a, world_b):
    with organization_context(world_b.org):
        theirs = Property.objects.create(name="Theirs", time_zone="UTC")
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/trends/", {
        "from": "2026-10-01", "to": "2026-10-31", "property": str(theirs.public_id)})
    assert response.status_code == 400 and "No property" in str(response.json())
    with organization_context(world_b.org):  # and B's trend sees none of A's consumption
        assert trend(first=date(2026, 10, 24), last=date(2026, 10, 26)).total is None


def test_api_answers_the_trend(house, world_a):
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/trends/", {
        "from": "2026-10-26", "to": "2026-10-26", "resolution": "hour", "compare": "previous",
        "meter": f"{house['e1'].public_id},{house['g1'].public_id}"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["unit"], body["zone"], body["total"]) == ("kWh", "Europe/Zurich", "72.0000")
    assert body["compare_total"] == "100.0000"  # 25 Oct: E-1 50 + G-1 50
    assert body["points"][0] == {"at": "2026-10-25T23:00:00Z", "quantity": "3.0000",
                                 "compare_at": "2026-10-24T22:00:00Z",
                                 "compare_quantity": "4.0000", "change_percent": "-25.0"}


def test_page_shows_chart_table_and_exports_csv(house, world_a):
    client = login_client(world_a.viewer, world_a.org)
    query = {"from": "2026-10-24", "to": "2026-10-26", "resolution": "day",
             "billing_point": str(house["flat1"].public_id), "compare": "previous"}
    page = client.get("/monitoring/trends/", query).content.decode()
    assert 'data-testid="chart"' in page and 'data-testid="trend-table"' in page
    assert "195 kWh" in page  # 72 + 75 + 48
    export = client.get("/monitoring/trends/", {**query, "format": "csv"})
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0] == ["Day", "Consumption (kWh)", "Compared day", "Comparison (kWh)",
                       "Change (%)"]
    assert rows[1:] == [["2026-10-24", "72.0000", "2026-10-21", "", ""],
                        ["2026-10-25", "75.0000", "2026-10-22", "", ""],
                        ["2026-10-26", "48.0000", "2026-10-23", "", ""]]
    assert client.get("/monitoring/trends/").status_code == 200  # the defaults
