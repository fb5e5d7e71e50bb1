"""The energy dashboard (selector, API, pages) on the hand-computed dataset of
``tests/monitoring/dashboard_world.py`` (read its table first).

The arithmetic, for October 2026 looked at on 28 Oct 2026 (complete days: up to each
meter's latest reading):

* SE-E1, 1 kWh an hour: Oct 2026 so far = 1–27 Oct = 27 × 24 + 1 (25 Oct has 25 h) = 649;
  Sep 2026 = 30 × 24 = 720; Oct 2025 = 31 × 24 + 1 (26 Oct 2025 has 25 h) = 745.
* SE-E2, 5 a day with the gap 25 Sep → 5 Oct 2026 (+100 over 240 h, no DST in it), cut at
  1 Oct 00:00 by time (144 h of 240 h = 0.6): Sep = 24 × 5 + 60 = 180; Oct = 40 + 23 × 5
  (5–27 Oct) = 155; Oct 2025 = 31 × 5 = 155.
* SE-E3, 20 a day: Oct = 27 × 20 = 540; Sep = 600; Oct 2025 = 620.
* SE-W1, 1 m³ a day, last read 27 Oct: Oct = 26; Sep = 30; Oct 2025 = 31.
* SE-H1, 10 kWh a day, last read 25 Oct: Oct = 24 × 10 = 240; Sep = 300; Oct 2025 = 310.
* BB-E9 (Bergblick), 100 a day from 1 Oct 2026: Oct = 27 × 100 = 2700.

Seehaus electricity: Oct 649 + 155 + 540 = 1344; Sep 720 + 180 + 600 = 1500;
Oct 2025 745 + 155 + 620 = 1520. The organization adds Bergblick: Oct 1344 + 2700 = 4044.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import services as billing_services
from billspree.core.scoping import organization_context
from meters.models import Property
from monitoring.selectors.dashboard import LAST, THIS, YEAR_AGO, energy_dashboard
from tests.billing.builders import at as berlin_at
from tests.billing.builders import make_house, read
from tests.conftest import api_client, login_client
from tests.monitoring import dashboard_world as w

pytestmark = pytest.mark.django_db

OCT = date(2026, 10, 1)


@pytest.fixture
def world(in_org_a):
    return w.build(in_org_a.org)


def _types(dash) -> dict:
    return {(t.meter_type, t.unit): tuple(t.quantities[k] for k in (THIS, LAST, YEAR_AGO))
            for t in dash.types}


def test_property_dashboard_this_month_last_month_and_a_year_ago(world):
    dash = energy_dashboard(property=world["seehaus"], now=w.NOW)
    assert dash.month == OCT and dash.today == date(2026, 10, 28)
    assert dash.periods[THIS].so_far and not dash.periods[LAST].so_far
    assert dash.periods[YEAR_AGO].first == date(2025, 10, 1)
    assert _types(dash) == {
        ("cold_water", "m³"): (Decimal(26), Decimal(30), Decimal(31)),
        ("electricity", "kWh"): (Decimal(1344), Decimal(1500), Decimal(1520)),
        ("heat", "kWh"): (Decimal(240), Decimal(300), Decimal(310)),
    }  # gas: never read, no row


def test_the_organization_adds_every_property(world):
    dash = energy_dashboard(now=w.NOW)
    assert dash.property is None
    elec = _types(dash)[("electricity", "kWh")]
    assert elec == (Decimal(4044), Decimal(1500), Decimal(1520))  # + Bergblick's 2700 in Oct


def test_chart_has_13_months_and_the_year_before(world):
    dash = energy_dashboard(property=world["seehaus"], now=w.NOW)
    assert dash.chart_months[0] == date(2025, 10, 1) and dash.chart_months[-1] == OCT
    elec = next(t for t in dash.types if t.meter_type == "electricity")
    assert len(elec.months) == len(elec.earlier) == 13
    # Oct 2025 (first bar) = 1520; Sep 2025 (no: the data start on 1 Sep 2025) = 30 × 24
    # + 30 × 5 + 30 × 20 = 720 + 150 + 600 = 1470 is the line under Sep 2026
    assert elec.months[0] == Decimal(1520) and elec.months[-1] == Decimal(1344)
    assert elec.earlier[-2] == Decimal(1470) and elec.earlier[-1] == Decimal(1520)
    assert elec.earlier[0] is None  # Oct 2024: no data
    # Mar 2026: 31 × 24 − 1 (29 Mar has 23 h) = 743, + 31 × 5 + 31 × 20 = 1518
    assert elec.months[5] == Decimal(1518)


def test_top_consumers_and_intensity(world):
    dash = energy_dashboard(property=world["seehaus"], now=w.NOW)
    top = dash.top[("electricity", "kWh")]
    assert [(c.billing_point.name, c.quantity, c.area_m2, c.intensity) for c in top] == [
        ("Flat 1", Decimal(649), Decimal(50), Decimal("12.9800")),  # 649 / 50
        ("Shop", Decimal(540), None, None),
        ("Flat 2", Decimal(155), Decimal(100), Decimal("1.5500")),  # 155 / 100
    ]
    by_type = {(i.meter_type, i.unit): (i.quantity, i.area_m2, i.value, i.points)
               for i in dash.intensity}
    assert by_type == {
        ("cold_water", "m³"): (Decimal(26), Decimal(100), Decimal("0.2600"), 1),
        ("electricity", "kWh"): (Decimal(804), Decimal(150), Decimal("5.3600"), 2),  # 804/150
        ("heat", "kWh"): (Decimal(240), Decimal(50), Decimal("4.8000"), 1),
    }
    org_top = energy_dashboard(now=w.NOW).top[("electricity", "kWh")]
    assert [(c.property.name, c.billing_point.name) for c in org_top][:2] == [
        ("Bergblick", "Office"), ("Seehaus", "Flat 1")]  # 2700, then 649


def test_meters_not_read_amber_and_red(world):
    """At 10:00 UTC on 28 Oct: SE-W1 last read 26 Oct 23:00 UTC (35 h: amber), SE-H1
    24 Oct 22:00 UTC (84 h: red), SE-G1 never (red); the rest 27 Oct 23:00 UTC (11 h)."""
    dash = energy_dashboard(property=world["seehaus"], now=w.NOW)
    assert (dash.active_meters, dash.amber, dash.red) == (6, 1, 2)
    assert [(q.meter.name, q.level, q.last_read_at) for q in dash.quiet] == [
        ("SE-G1", "red", None),
        ("SE-H1", "red", datetime(2026, 10, 24, 22, tzinfo=UTC)),
        ("SE-W1", "amber", datetime(2026, 10, 26, 23, tzinfo=UTC)),
    ]
    later = energy_dashboard(property=world["seehaus"], now=w.NOW + timedelta(hours=38))
    # 48 h later SE-W1 is 73 h old (red) and the others 49 h (amber)
    assert (later.amber, later.red) == (3, 3)
    org = energy_dashboard(now=w.NOW)
    assert (org.active_meters, org.amber, org.red) == (7, 1, 2)  # + BB-E9, fresh


def test_a_handful_of_queries_whatever_the_number_of_meters(world, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as few:
        energy_dashboard(now=w.NOW)
    # five more meters with a year of readings: the same number of queries
    more = []
    for n in range(5):
        w._meter(f"XT-{n}", world["flat1"], "electricity", "kWh")
        more += [(f"XT-{n}", w.local_midnight(d, w.ZURICH), Decimal(n + k))
                 for k, d in enumerate(w._days(date(2025, 10, 1), date(2026, 10, 28)))]
    w._ingest(more)
    with CaptureQueriesContext(connection) as many:
        dash = energy_dashboard(now=w.NOW)
    assert len(many) == len(few)
    assert dash.active_meters == 12
    with django_assert_max_num_queries(20):  # incl. savepoints and SET LOCAL jit
        energy_dashboard(now=w.NOW)


def test_the_rollup_part_is_cached_until_the_rollups_change(world, settings):
    """With ``DASHBOARD_CACHE_SECONDS`` the consumption and cost parts come from the cache
    (no rollup query) until a rollup is written: a reading that completes a day changes the
    rollups' version, and the next page shows the day at once. The quiet meters are always
    read."""
    settings.DASHBOARD_CACHE_SECONDS = 60
    first = energy_dashboard(now=w.NOW)
    with CaptureQueriesContext(connection) as cached:
        again = energy_dashboard(now=w.NOW)
    assert not [q for q in cached if "consumption" in q["sql"] or "invoice" in q["sql"]]
    assert [q for q in cached if "meterreadingstate" in q["sql"]]
    assert _types(again) == _types(first)
    assert repr((again.top, again.intensity, again.costs)) == repr(
        (first.top, first.intensity, first.costs))
    water = ("cold_water", "m³")
    assert _types(first)[water][0] == Decimal(26)
    # SE-W1 read at 28 Oct 00:00: 27 Oct is complete now
    w._ingest([("SE-W1", w.local_midnight(date(2026, 10, 28), w.ZURICH),
                Decimal((date(2026, 10, 28) - w.FIRST_DAY).days))])
    assert _types(energy_dashboard(now=w.NOW))[water][0] == Decimal(27)
    settings.DASHBOARD_CACHE_SECONDS = 0
    with CaptureQueriesContext(connection) as uncached:
        energy_dashboard(now=w.NOW)
    assert [q for q in uncached if "readings_monthlyconsumption" in q["sql"]]


def test_cost_from_issued_invoices(in_org_a):
    """Berlin flat at 0.25/kWh + 9.90 a month, 10 kWh a day: Sep 2026 300 kWh → 75.00 +
    9.90; Oct 2026 310 kWh → 77.50 + 9.90; Oct 2025: no invoice."""
    house = make_house(connected=date(2026, 8, 30), initial="1000", flat="0.25")
    read(house.meter, *[(berlin_at(date(2026, 8, 30) + timedelta(days=n)), str(1000 + 10 * n))
                        for n in range(1, 66)])
    invoices = [billing_services.invoice_create_draft(
        subscriptions=[house.subscription], start=s, end=e)[0]
        for s, e in ((date(2026, 9, 1), date(2026, 10, 1)), (date(2026, 10, 1),
                                                              date(2026, 11, 1)))]
    before = energy_dashboard(month=OCT, now=w.NOW)
    assert before.costs == []  # drafts are not a cost
    for invoice in invoices:
        billing_services.invoice_issue(invoice=invoice)
    dash = energy_dashboard(property=house.prop, month=OCT, now=w.NOW)
    lines = {(c.meter_type, c.currency): tuple(c.amounts[k] for k in (THIS, LAST, YEAR_AGO))
             for c in dash.costs}
    assert lines == {
        ("electricity", "EUR"): (Decimal("77.50"), Decimal("75.00"), None),
        ("", "EUR"): (Decimal("9.90"), Decimal("9.90"), None),
        (None, "EUR"): (Decimal("87.40"), Decimal("84.90"), None),  # the total
    }
    assert [c.meter_type for c in dash.costs] == ["electricity", "", None]


def test_a_past_month_is_whole_and_not_so_far(world):
    dash = energy_dashboard(property=world["seehaus"], month=date(2026, 9, 1), now=w.NOW)
    assert not dash.periods[THIS].so_far
    # Sep 2026 1500 (above); Aug 2026 31 × 24 + 31 × 5 + 31 × 20 = 744 + 155 + 620 = 1519;
    # Sep 2025 = 1470
    assert _types(dash)[("electricity", "kWh")] == (Decimal(1500), Decimal(1519),
                                                    Decimal(1470))


def test_an_organization_without_meters_is_empty(world_b):
    with organization_context(world_b.org):
        dash = energy_dashboard(now=w.NOW)
    assert dash.empty and dash.types == [] and dash.quiet == []
    page = login_client(world_b.viewer, world_b.org).get("/monitoring/")
    assert page.status_code == 200
    assert 'data-testid="dashboard-empty"' in page.content.decode()


# --- API --------------------------------------------------------------------------------------


def test_api_answers_the_property_dashboard(world, world_a):
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/dashboard/", {
        "property": str(world["seehaus"].public_id), "month": "2026-10"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["property"]["name"] == "Seehaus" and body["month"] == "2026-10-01"
    elec = next(t for t in body["types"] if t["meter_type"] == "electricity")
    assert elec["quantities"] == {"this_month": "1344.0000", "last_month": "1500.0000",
                                  "same_month_last_year": "1520.0000"}
    top = [c for c in body["top"] if c["meter_type"] == "electricity"]
    assert [(c["billing_point"]["name"], c["quantity"], c["area_m2"], c["intensity"])
            for c in top] == [("Flat 1", "649.0000", "50.00", "12.9800"),
                              ("Shop", "540.0000", None, None),
                              ("Flat 2", "155.0000", "100.00", "1.5500")]
    assert body["meters"]["active"] == 6
    assert [q["meter"]["name"] for q in body["meters"]["quiet"]][0] == "SE-G1"


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"property": "nope"}, "property", "valid id"),
    ({"property": str(uuid.UUID(int=7))}, "property", "No property"),
    ({"month": "2026-13"}, "month", "Not a month"),
    ({"month": "October"}, "month", "YYYY-MM"),
    ({"month": "0001-01"}, "month", "between"),
])
def test_bad_parameters_get_a_clear_error_by_name(world_a, query, field, words):
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/dashboard/", query)
    assert response.status_code == 400, response.content
    assert words in str(response.json()) and field in str(response.json())


def test_another_organizations_property(world, world_a, world_b):
    with organization_context(world_b.org):
        theirs = Property.objects.create(name="Theirs", time_zone="UTC")
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/dashboard/", {
        "property": str(theirs.public_id)})
    assert response.status_code == 400 and "No property" in str(response.json())
    client = login_client(world_a.viewer, world_a.org)
    assert client.get(f"/monitoring/properties/{theirs.public_id}/").status_code == 404
    mine = client.get(f"/monitoring/properties/{world['seehaus'].public_id}/")
    assert mine.status_code == 200


# --- pages ------------------------------------------------------------------------------------


def test_the_page_shows_the_numbers_links_and_markers(world, world_a):
    client = login_client(world_a.viewer, world_a.org)
    page = client.get(f"/monitoring/properties/{world['seehaus'].public_id}/",
                      {"month": "2026-10"})
    html = page.content.decode()
    assert page.status_code == 200
    for text in ("1,344 kWh", "1,500 kWh", "1,520 kWh", "-10.4 %", "-11.6 %",  # 1344/1500,
                 "12.98 kWh/m²", "5.36 kWh/m²", "Flat 1",  # 1344/1520
                 'data-level="red"', "never", "/monitoring/reports/energy/?from=2026-10-01",
                 'aria-current="page">Dashboard', 'id="dashboard-electricity-1"'):
        assert text in html, text
    # the page is looked at now (after Oct 2026): every Seehaus meter is 72 h+ old
    assert 'data-level="amber"' not in html and html.count('data-level="red"') == 6
    bad = client.get("/monitoring/", {"month": "2026-13"}).content.decode()
    assert "Not a month" in bad
