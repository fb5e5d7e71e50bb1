"""Loss analysis (selector, statement, pages, API) on the hand-built world of
``tests/monitoring/loss_world.py``: main 6.25 kWh/h, sub-meters 1 + 2 + 3 kWh/h, S-3 silent
from 26 Oct 12:00 local, 25 Oct the 25-hour DST day (Berlin)."""

from __future__ import annotations

import html
import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.selectors.building_statements import building_statement_data
from billspree.core.scoping import organization_context
from monitoring.selectors.losses import loss_report
from readings.losses import allocate, loss, loss_percent, total
from tests.conftest import api_client, login_client
from tests.monitoring.loss_world import START, H, make_loss_world

pytestmark = pytest.mark.django_db

D = Decimal
OCT24, OCT25, OCT26 = date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)


@pytest.fixture
def world(in_org_a):
    return make_loss_world()


def test_days_dst_day_and_the_incomplete_day(world):
    report = loss_report(first=OCT24, last=OCT26, grain="day")
    [main] = report.mains
    assert main.meter.serial_number == "M-1" and main.sub_count == 3
    rows = [(p.key, p.main, p.subs if p.complete else None, p.loss, p.percent, p.reason)
            for p in main.periods]
    assert rows == [
        # 24 h: 24 × 6.25 = 150; 24 × (1 + 2 + 3) = 144; 6 = 4.0 % of 150
        (OCT24, D("150.0000"), D("144.0000"), D("6.0000"), D("4.0"), ""),
        # DST day, 25 h: 156.25 − 150 = 6.25 = 4.0 %
        (OCT25, D("156.2500"), D("150.0000"), D("6.2500"), D("4.0"), ""),
        # S-3 has no complete 26 Oct: incomplete, no loss (not 150 − 72 = 78)
        (OCT26, D("150.0000"), None, None, None, "No data from S-3"),
    ]
    # totals: complete days only: 306.25 − 294 = 12.25 = 4.0 %
    assert (main.main_total, main.subs_total, main.loss, main.percent) == (
        D("306.2500"), D("294.0000"), D("12.2500"), D("4.0"))
    assert main.incomplete_count == 1


def test_hours_of_the_dst_day_and_months(world):
    [main] = loss_report(first=OCT25, last=OCT26, grain="hour").mains
    assert len(main.periods) == 25 + 24  # 25 Oct has 25 hours
    assert main.periods[0].key == START + 24 * H  # 25 Oct 00:00 local = 24 Oct 22:00 UTC
    complete = main.complete_periods
    assert len(complete) == 25 and {p.loss for p in complete} == {D("0.2500")}  # 6.25 − 6
    assert {p.percent for p in complete} == {D("4.0")}
    assert all(p.reason == "No data from S-3" for p in main.periods[25:])
    [month] = loss_report(first=OCT24, last=OCT26, grain="month").mains[0].periods
    assert month.key == date(2026, 10, 1) and not month.complete  # a day lacks S-3
    [whole] = loss_report(first=OCT24, last=OCT25, grain="month").mains[0].periods
    assert (whole.main, whole.subs, whole.loss, whole.percent) == (
        D("306.2500"), D("294.0000"), D("12.2500"), D("4.0"))


def test_allocation_of_the_common_use_adds_up(world):
    [main] = loss_report(first=OCT24, last=OCT26, grain="day", main_id=world.main.pk,
                         detail=True).mains
    assert main.common_use == D("12.2500")  # the loss, no sub-meter at a common area
    got = {a.billing_point: (a.consumption, a.by_area, a.by_consumption, a.equally)
           for a in main.allocations}
    assert got == {
        # by area 50/70/80 of 200 m²: 3.0625, 4.2875, 4.9 → floors 3.062 + 4.287 + 4.900 =
        # 12.249, the last 0.001 to the largest remainder (a tie of .0005: Flat 1 first)
        # by use 49/98/147 of 294 (S-3 only in complete days): 2.0416…, 4.0833…, 6.125 →
        # 2.041 + 4.083 + 6.125 = 12.249, + 0.001 to Flat 1 (remainder .00066)
        # equally 4.08333… each → 4.083 × 3 = 12.249, + 0.001 to Flat 1 (tie, first)
        "Flat 1": (D("49.0000"), D("3.063"), D("2.042"), D("4.084")),
        "Flat 2": (D("98.0000"), D("4.287"), D("4.083"), D("4.083")),
        "Flat 3": (D("147.0000"), D("4.900"), D("6.125"), D("4.083")),
    }
    for column in range(1, 4):
        assert sum(v[column] for v in got.values()) == D("12.250")


def test_shared_arithmetic():
    assert total([D(1), None, D(2)]) is None and total([D(1), D(2)]) == D(3)
    assert loss(D(10), None) is None and loss(D(10), D(11)) == D(-1)
    assert loss_percent(D(0), D(0)) is None
    assert loss_percent(D(3), D(2)) == D("33.3")  # 1/3 = 33.33… → 33.3
    # 1.00 in three: 0.333 × 3 = 0.999, the last 0.001 to the first (equal remainders)
    assert allocate(D(1), [("a", D(1)), ("b", D(1)), ("c", D(1))]) == {
        "a": D("0.334"), "b": D("0.333"), "c": D("0.333")}
    assert allocate(D(-1), [("a", D(1)), ("b", D(2))]) == {"a": D("-0.333"), "b": D("-0.667")}
    assert allocate(D(5), [("a", D(0))]) == {}


def test_the_statement_shows_the_same_gap_as_the_page(world):
    # 24–25 Oct: every meter complete, so the statement's selector and the rollups agree
    data = building_statement_data(property=world.prop, period_start=OCT24,
                                   period_end=OCT26)
    [row] = data.main_meters
    [main] = loss_report(first=OCT24, last=OCT25, grain="day").mains
    assert (row.main, row.subs) == (main.main_total, main.subs_total)
    assert row.difference == main.loss == D("12.2500")
    assert row.percent == main.percent == D("4.0")


def test_list_and_detail_pages_and_csv(world, world_a):
    client = login_client(world_a.viewer, world_a.org)
    query = {"from": "2026-10-24", "to": "2026-10-26"}
    listing_html = client.get("/monitoring/losses/", query).content.decode()
    assert 'data-testid="loss-table"' in listing_html and "M-1 Gapstrasse main" in listing_html
    assert "306.250" in listing_html and "12.250" in listing_html and "4.0" in listing_html
    detail = client.get(f"/monitoring/losses/{world.main.public_id}/", query)
    assert detail.status_code == 200
    body = detail.content.decode()
    assert body.count('data-incomplete="1"') == 1 and "No data from S-3" in body
    assert 'data-testid="sankey"' in body and "<title id=\"sankey-title\">" in body
    # shares of 306.25: 49 = 16.0 %, 98 = 32.0 %, 147 = 48.0 %, 12.25 = 4.0 %
    for text in ("49 kWh (16.0 %)", "98 kWh (32.0 %)", "147 kWh (48.0 %)",
                 "Unmetered remainder — 12.25 kWh (4.0 %)"):
        assert text in body, text
    csv = b"".join(client.get(f"/monitoring/losses/{world.main.public_id}/",
                              {**query, "format": "csv", "table": "loss_periods"})
                   .streaming_content).decode().splitlines()
    assert csv[0] == "Day,Main meter (kWh),Sum of sub-meters (kWh),Loss (kWh),Loss (%),Status," \
                     "Why incomplete"
    assert csv[2] == "2026-10-25,156.2500,150.0000,6.2500,4.0,complete,"
    assert csv[3] == "2026-10-26,150.0000,,,,incomplete,No data from S-3"
    listing = b"".join(client.get("/monitoring/losses/", {**query, "format": "csv"})
                       .streaming_content).decode().splitlines()
    assert listing[1].startswith("M-1 Gapstrasse main,Gapstrasse,3,306.2500,294.0000,12.2500,4.0,1")
    sub = client.get(f"/monitoring/losses/{world.subs[0].public_id}/", query)
    assert sub.status_code == 404  # a sub-meter is not a main meter


def test_api_list_and_detail(world, world_a):
    client = api_client(key=world_a.read_key)
    body = client.get("/api/v1/monitoring/losses/", {"from": "2026-10-24",
                                                      "to": "2026-10-26"}).json()
    [main] = body["mains"]
    assert (main["main"], main["subs"], main["loss"], main["percent"]) == (
        "306.2500", "294.0000", "12.2500", "4.0")
    assert "periods" not in main
    detail = client.get("/api/v1/monitoring/losses/", {
        "from": "2026-10-25", "to": "2026-10-26", "grain": "hour",
        "main": str(world.main.public_id)})
    assert detail.status_code == 200, detail.content
    periods = detail.json()["mains"][0]["periods"]
    assert periods[0] == {"period": "2026-10-24T22:00:00Z", "main": "6.2500",
                          "subs": "6.0000", "loss": "0.2500", "percent": "4.0",
                          "complete": True, "missing": []}
    assert periods[-1]["complete"] is False and periods[-1]["loss"] is None
    assert [m["serial_number"] for m in periods[-1]["missing"]] == ["S-3"]


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"to": "2026-10-31"}, "from", "first local day"),
    ({"from": "2026-10-31", "to": "2026-10-01"}, "to", "before it begins"),
    ({"from": "2026-10-01", "to": "2026-10-31", "grain": "week"}, "grain", "'week'"),
    ({"from": "2026-13-01", "to": "2026-10-31"}, "from", "Not a date"),
    ({"from": "2026-01-01", "to": "2026-10-31", "grain": "hour"}, "grain", "92 days"),
    ({"from": "2026-10-01", "to": "2026-10-31", "main": "nope"}, "main", "valid id"),
    ({"from": "2026-10-01", "to": "2026-10-31", "main": str(uuid.UUID(int=7))}, "main",
     "No meter"),
])
def test_bad_input_is_400_naming_the_field(world, world_a, query, field, words):
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/losses/", query)
    assert response.status_code == 400, response.content
    assert words in str(response.json()) and field in str(response.json())
    page = login_client(world_a.viewer, world_a.org).get("/monitoring/losses/", query)
    assert page.status_code == 200 and words in html.unescape(page.content.decode())


def test_a_sub_meter_is_not_a_main_and_another_org_sees_nothing(world, world_a, world_b):
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/losses/", {
        "main": str(world.subs[0].public_id)})
    assert response.status_code == 400 and "no sub-meters" in str(response.json())
    with organization_context(world_b.org):
        assert loss_report(first=OCT24, last=OCT26).mains == []
    with pytest.raises(ValidationError):
        loss_report(first=OCT26, last=OCT24)
