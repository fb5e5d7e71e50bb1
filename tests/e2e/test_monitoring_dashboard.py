"""The energy dashboard in Chromium: the manager follows the main nav's "Monitoring" to the
organization dashboard, sees the meters not read in amber and red with their last reading,
opens a property's dashboard for October 2026 and reads the hand-computed numbers of
``tests/monitoring/dashboard_world.py`` (see ``tests/monitoring/test_dashboard.py`` for the
arithmetic), the chart drawn with 13 months, and follows the link into the energy report.
Screenshot: test-artifacts/monitoring-dashboard.png."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billspree.core import timefmt
from billspree.core.scoping import organization_context
from meters.models import BillingPoint, MeterType, Property
from readings.parsing import RowIn
from readings.services import reading_ingest
from tests.e2e.conftest import ARTIFACTS, portal_login
from tests.monitoring import dashboard_world as w

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(world_a):
    """The dataset, plus Quellhof (Europe/Zurich) whose meters were last read 2 h (QH-A),
    30 h (QH-B: amber) and 80 h (QH-C: red) before now."""
    with organization_context(world_a.org):
        found = w.build(world_a.org)
        quell = Property.objects.create(name="Quellhof", time_zone="Europe/Zurich")
        bp = BillingPoint.objects.create(property=quell, connection_id="QH-1", name="Loft")
        now = timezone.now().replace(microsecond=0)
        rows, last = [], {}
        for serial, hours in (("QH-A", 2), ("QH-B", 30), ("QH-C", 80)):
            w._meter(serial, bp, MeterType.ELECTRICITY, "kWh", connected=now - timedelta(days=10))
            last[serial] = now - timedelta(hours=hours)
            rows += [(serial, now - timedelta(days=5), Decimal(0)), (serial, last[serial],
                                                                     Decimal(10))]
        result = reading_ingest(rows=[RowIn(n + 1, s, at.astimezone(UTC).isoformat(), str(v))
                                      for n, (s, at, v) in enumerate(rows)], source="api")
        assert not [r for r in result.results if r.status == "rejected"]
    return found, last


def test_manager_reads_the_dashboard_numbers_and_quiet_meters(page, world_a, world):
    found, last = world
    portal_login(page, world_a.manager.email)
    page.get_by_role("link", name="Monitoring", exact=True).click()
    page.wait_for_url("**/monitoring/")
    expect(page.locator("nav.ledger-tabs a[aria-current=page]")).to_have_text("Dashboard")
    # 10 active meters (7 of the dataset + 3 at Quellhof). Now (after Oct 2026) every
    # dataset meter is 72 h+ old: 7 red, + QH-C (80 h) = 8; QH-B (30 h) amber; QH-A fresh.
    summary = page.get_by_test_id("quiet-summary")
    expect(summary).to_contain_text("10 active meters")
    expect(summary).to_contain_text("1 not read in 24 h")
    expect(summary).to_contain_text("8 not read in 72 h or more")
    amber = page.locator("tr[data-level=amber]")
    expect(amber).to_have_count(1)
    expect(amber).to_contain_text("QH-B")
    expect(amber).to_contain_text(timefmt.format_instant(last["QH-B"], "Europe/Zurich",
                                                         zone_name=True))
    expect(amber.get_by_test_id("quiet-level")).to_have_css("color", "rgb(181, 71, 8)")
    red_c = page.locator("tr[data-level=red]", has_text="QH-C")
    expect(red_c).to_contain_text(timefmt.format_instant(last["QH-C"], "Europe/Zurich",
                                                         zone_name=True))
    expect(red_c.get_by_test_id("quiet-level")).to_have_css("color", "rgb(180, 35, 24)")
    expect(page.locator("tr[data-level=red]", has_text="SE-G1")).to_contain_text("never")
    expect(page.locator("tr[data-testid=quiet-row]", has_text="QH-A")).to_have_count(0)

    page.goto(f"/monitoring/properties/{found['seehaus'].public_id}/?month=2026-10")
    expect(page.get_by_role("heading", level=1)).to_have_text("Seehaus: energy")
    # electricity: Oct 2026 649 + 155 + 540 = 1344; Sep 720 + 180 + 600 = 1500;
    # Oct 2025 745 + 155 + 620 = 1520; −10.4 % and −11.6 % against this month
    cells = page.get_by_test_id("consumption-electricity").get_by_test_id("cell")
    expect(cells.nth(0)).to_have_text("1,344 kWh")
    expect(cells.nth(1)).to_contain_text("1,500 kWh")
    expect(cells.nth(1)).to_contain_text("-10.4 % vs this month")
    expect(cells.nth(2)).to_contain_text("1,520 kWh")
    expect(cells.nth(2)).to_contain_text("-11.6 % vs this month")
    water = page.get_by_test_id("consumption-cold_water").get_by_test_id("cell")
    expect(water.nth(0)).to_have_text("26 m³")  # 1–26 Oct, last read 27 Oct
    heat = page.get_by_test_id("consumption-heat").get_by_test_id("cell")
    expect(heat.nth(0)).to_have_text("240 kWh")  # 1–24 Oct × 10, last read 25 Oct
    top = page.get_by_test_id("top-table").filter(has_text="Shop").get_by_test_id("top-row")
    expect(top).to_have_count(3)
    expect(top.nth(0)).to_contain_text("Flat 1")
    expect(top.nth(0)).to_contain_text("649 kWh")
    expect(top.nth(0)).to_contain_text("12.98 kWh/m²")  # 649 / 50 m²
    expect(top.nth(2)).to_contain_text("1.55 kWh/m²")  # SE-E2 155 / 100 m²
    expect(page.get_by_test_id("intensity-row").filter(has_text="Electricity")).to_contain_text(
        "5.36 kWh/m²")  # (649 + 155) / 150 m² (the shop has no area)
    figure = page.locator("figure#dashboard-electricity-1")
    expect(figure).to_have_class("chart chart-drawn")
    assert figure.evaluate("f => billspreeCharts.instance(f).data[0].length") == 13
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "monitoring-dashboard.png"), full_page=True)
    page.get_by_test_id("report-link").click()
    page.wait_for_url("**/monitoring/reports/energy/**")
    row = page.get_by_test_id("energy-table").locator("tbody tr", has_text="Electricity")
    expect(row).to_contain_text("1344.0000")  # the report says what the dashboard says
