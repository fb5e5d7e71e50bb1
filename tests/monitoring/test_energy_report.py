"""The energy report (selector, API, page) on a small hand-computed dataset: a Zurich house
read every hour around the autumn DST day, a meter that moves between billing points, and
an issued invoice for the cost."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from billing import services as billing_services
from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from monitoring.selectors import energy_report
from monitoring.selectors.energy import Ref
from tests.billing.builders import at as berlin_at
from tests.billing.builders import make_house, read
from tests.conftest import api_client, login_client
from tests.readings.helpers import ingest

pytestmark = pytest.mark.django_db

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 12, 31, tzinfo=UTC)
H = timedelta(hours=1)
START = local_midnight(date(2026, 10, 24), ZURICH).astimezone(UTC)  # 23 Oct 22:00 UTC
MOVE = datetime(2026, 10, 25, 12, tzinfo=ZURICH).astimezone(UTC)  # 11:00 UTC (after DST)
HOURS = 24 + 25 + 24 + 13  # 24 Oct 00:00 local → 27 Oct 12:00 local


def _meter(serial, bp, type_=MeterType.ELECTRICITY, unit="kWh", connected=START, removed=None):
    meter = Meter.objects.create(serial_number=serial, type=type_, unit=unit, register_digits=6)
    MeterAssignment.objects.create(meter=meter, billing_point=bp, connected_at=connected,
                                   removed_at=removed, initial_reading=Decimal(0),
                                   final_reading=None if removed is None else
                                   Decimal((removed - START) // H))
    return meter


@pytest.fixture
def house(in_org_a):
    """E-1 (2 kWh an hour) at flat 1, W-1 (1 m³ an hour) at flat 2, E-3 (1 kWh an hour) at
    flat 1 until 25 Oct 12:00 local, then at flat 2; read every hour from 24 Oct 00:00 local
    to 27 Oct 12:00 local. Complete days: 24 (24 h), 25 (25 h), 26 Oct (24 h)."""
    prop = Property.objects.create(name="Seehaus", time_zone="Europe/Zurich")
    flat1 = BillingPoint.objects.create(property=prop, connection_id="Z-1", name="Flat 1")
    flat2 = BillingPoint.objects.create(property=prop, connection_id="Z-2", name="Flat 2")
    _meter("E-1", flat1)
    _meter("W-1", flat2, MeterType.COLD_WATER, "m³")
    e3 = _meter("E-3", flat1, removed=MOVE)
    MeterAssignment.objects.create(meter=e3, billing_point=flat2, connected_at=MOVE,
                                   initial_reading=Decimal((MOVE - START) // H))
    rows = []
    for k in range(1, HOURS + 1):
        t = (START + k * H).isoformat()
        rows += [("E-1", t, str(2 * k)), ("W-1", t, str(k)), ("E-3", t, str(k))]
    ingest(*rows, now=NOW)
    return prop, flat1, flat2


def _rows(report):
    return [(tuple(v.name if isinstance(v, Ref) else v for v in r.keys.values()), r.unit,
             r.quantity) for r in report.rows]


def test_by_property_and_month_reads_the_monthly_rollups(house):
    report = energy_report(first=date(2026, 10, 1), last=date(2026, 10, 31),
                           group_by="property,month")
    assert report.grain == "month"
    oct_ = date(2026, 10, 1)
    # 73 complete hours: E-1 146 + E-3 73 = 219 kWh; W-1 73 m³
    assert _rows(report) == [(("Seehaus", oct_), "kWh", Decimal("219.0000")),
                             (("Seehaus", oct_), "m³", Decimal("73.0000"))]
    assert report.totals == {"kWh": Decimal("219.0000"), "m³": Decimal("73.0000")}


def test_by_day_and_meter_type_has_the_25_hour_day(house):
    report = energy_report(first=date(2026, 10, 24), last=date(2026, 10, 27),
                           group_by=["day", "meter_type"], meter_type="electricity")
    assert report.grain == "day"
    assert _rows(report) == [
        (("electricity", date(2026, 10, 24)), "kWh", Decimal("72.0000")),
        (("electricity", date(2026, 10, 25)), "kWh", Decimal("75.0000")),
        (("electricity", date(2026, 10, 26)), "kWh", Decimal("72.0000")),
    ]  # groups come in the report's order; 27 Oct is not complete yet


def test_a_move_counts_by_where_the_meter_was_when_the_period_began(house):
    _, flat1, _ = house
    by_day = energy_report(first=date(2026, 10, 24), last=date(2026, 10, 26),
                           group_by="billing_point,day", meter_type="electricity")
    assert _rows(by_day) == [
        (("Flat 1", date(2026, 10, 24)), "kWh", Decimal("72.0000")),  # E-1 48 + E-3 24
        (("Flat 1", date(2026, 10, 25)), "kWh", Decimal("75.0000")),  # the move day: flat 1
        (("Flat 1", date(2026, 10, 26)), "kWh", Decimal("48.0000")),
        (("Flat 2", date(2026, 10, 26)), "kWh", Decimal("24.0000")),
    ]
    by_hour = energy_report(first=date(2026, 10, 25), last=date(2026, 10, 25),
                            group_by="billing_point", meter_type="electricity")
    assert by_hour.grain == "day"
    hourly = energy_report(first=date(2026, 10, 25), last=date(2026, 10, 25),
                           group_by="billing_point,hour", meter_type="electricity")
    assert hourly.grain == "hour"
    flat2_hours = [r for r in hourly.rows if r.keys["billing_point"].name == "Flat 2"]
    # 12:00 → 24:00 local on 25 Oct (after the DST change: UTC+1) = 12 hours of E-3
    assert [r.keys["hour"] for r in flat2_hours] == [MOVE + n * H for n in range(12)]
    assert sum(r.quantity for r in flat2_hours) == Decimal(12)
    assert sum(r.quantity for r in hourly.rows) == Decimal(75)  # 25 h × (2 + 1)
    only_flat1 = energy_report(first=date(2026, 10, 25), last=date(2026, 10, 25),
                               group_by="hour", billing_point_id=flat1.pk,
                               meter_type="electricity")
    assert len(only_flat1.rows) == 25
    assert sum(r.quantity for r in only_flat1.rows) == Decimal(63)  # 50 + 13 h of E-3



def test_rows_come_in_code_point_order_of_names_then_unit(house):
    """Groups are numbered in Python and sorted by PostgreSQL: names in code-point order
    (as ``COLLATE "C"``: "Zimmer" before "Ärea"), units last; a period without rollups has
    no rows and no totals."""
    _, flat1, flat2 = house
    BillingPoint.objects.filter(pk=flat1.pk).update(name="Zimmer")
    BillingPoint.objects.filter(pk=flat2.pk).update(name="Ärea")
    report = energy_report(first=date(2026, 10, 24), last=date(2026, 10, 26),
                           group_by="billing_point")
    assert _rows(report) == [
        (("Zimmer",), "kWh", Decimal(195)),  # E-1 146 + E-3 49 (24 and 25 Oct)
        (("Ärea",), "kWh", Decimal(24)),  # E-3 on 26 Oct
        (("Ärea",), "m³", Decimal(73)),
    ]
    assert list(report.totals.items()) == [("kWh", Decimal(219)), ("m³", Decimal(73))]
    empty = energy_report(first=date(2026, 1, 1), last=date(2026, 1, 31),
                          group_by="billing_point")
    assert (empty.rows, empty.totals) == ([], {})

def test_cost_is_read_from_the_issued_invoice(in_org_a):
    """300 kWh in September at 0.25 + standing charge 9.90 = 84.90 net."""
    house = make_house(connected=date(2026, 8, 30), initial="1000", flat="0.25")
    read(house.meter, *[(berlin_at(date(2026, 8, 30) + timedelta(days=n)), str(1000 + 10 * n))
                        for n in range(1, 36)])
    invoice = billing_services.invoice_create_draft(
        subscriptions=[house.subscription], start=date(2026, 9, 1), end=date(2026, 10, 1))[0]
    before = energy_report(first=date(2026, 9, 1), last=date(2026, 9, 30), group_by="month")
    assert before.costs == []  # a draft is not a cost
    billing_services.invoice_issue(invoice=invoice)
    report = energy_report(first=date(2026, 9, 1), last=date(2026, 9, 30),
                           group_by="billing_point,meter_type")
    assert _rows(report) == [((house.bp.name, "electricity"), "kWh", Decimal("300.0000"))]
    costs = {tuple(v.name if isinstance(v, Ref) else v for v in c.keys.values()): c.amount
             for c in report.costs}
    assert costs == {(house.bp.name, ""): Decimal("9.90"),
                     (house.bp.name, "electricity"): Decimal("75.00")}
    assert report.cost_totals == {"EUR": Decimal("84.90")}
    invoice.refresh_from_db()
    assert invoice.net_total == Decimal("84.90")
    by_meter = energy_report(first=date(2026, 9, 1), last=date(2026, 9, 30), group_by="meter")
    assert by_meter.costs is None  # costs are per invoice, not per meter


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"to": "2026-10-31"}, "from", "first local day"),
    ({"from": "2026-10-31", "to": "2026-10-01"}, "to", "ends"),
    ({"from": "2026-10-01", "to": "2026-10-31", "group_by": "week"}, "group_by", "'week'"),
    ({"from": "2026-13-01", "to": "2026-10-31"}, "from", "Not a date"),
    ({"from": "2026-10-01", "to": "2026-10-31", "meter_type": "steam"}, "meter_type", "steam"),
    ({"from": "2024-01-01", "to": "2026-10-31", "group_by": "hour"}, "group_by", "366 days"),
    ({"from": "2020-01-01", "to": "2026-10-31"}, "to", "at most"),
    ({"from": "2026-10-01", "to": "2026-10-31", "property": "nope"}, "property", "valid id"),
    ({"from": "2026-10-01", "to": "2026-10-31", "property": str(uuid.UUID(int=7))},
     "property", "No property"),
])
def test_bad_parameters_get_a_clear_error_by_name(world_a, query, field, words):
    response = api_client(key=world_a.read_key).get("/api/v1/reports/energy/", query)
    assert response.status_code == 400, response.content
    assert words in str(response.json()), response.json()
    assert field in str(response.json())


def test_api_answers_the_report(house, world_a):
    response = api_client(key=world_a.read_key).get("/api/v1/reports/energy/", {
        "from": "2026-10-25", "to": "2026-10-25", "group_by": "property,hour",
        "meter_type": "cold_water"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["grain"] == "hour"
    assert len(body["rows"]) == 25
    assert body["rows"][0]["keys"]["hour"] == "2026-10-24T22:00:00Z"
    assert body["rows"][0]["keys"]["property"]["name"] == "Seehaus"
    assert body["totals"] == [{"unit": "m³", "quantity": "25.0000"}]
    assert body["costs"] is None


def test_another_organizations_property_is_not_found(house, world_a, world_b):
    with organization_context(world_b.org):
        theirs = Property.objects.create(name="Theirs", time_zone="UTC")
    response = api_client(key=world_a.read_key).get("/api/v1/reports/energy/", {
        "from": "2026-10-01", "to": "2026-10-31", "property": str(theirs.public_id)})
    assert response.status_code == 400
    assert "No property" in str(response.json())
    with organization_context(world_b.org):  # and B's report does not see A's meters
        assert energy_report(first=date(2026, 10, 1), last=date(2026, 10, 31)).rows == []


def test_the_page_shows_the_table_totals_and_an_empty_state(house, world_a):
    client = login_client(world_a.viewer, world_a.org)
    page = client.get("/monitoring/reports/energy/", {
        "from": "2026-10-01", "to": "2026-10-31", "group_by": ["property", "month"]})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="energy-table"' in html and "Seehaus" in html
    assert "219.0000" in html and "73.0000" in html
    empty = client.get("/monitoring/reports/energy/", {"from": "2026-01-01",
                                                       "to": "2026-01-31"}).content.decode()
    assert 'data-testid="energy-empty"' in empty
    bad = client.get("/monitoring/reports/energy/", {"from": "2026-10-31", "to": "2026-10-01"})
    assert bad.status_code == 200 and "before it begins" in bad.content.decode()
    assert client.get("/monitoring/reports/energy/").status_code == 200  # defaults


def test_selector_refuses_bad_input_itself(in_org_a):
    with pytest.raises(ValidationError) as exc:
        energy_report(first=date(2026, 1, 2), last=date(2026, 1, 1))
    assert "to" in exc.value.message_dict
