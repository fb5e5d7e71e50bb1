"""Load analysis and extremum report in Chromium, on the hand-built dataset of
``tests/monitoring/load_world.py``: the numbers as shown (97.0 % and 2.75 h above 8 kW on
21 Oct, the DST day's peak at 02:37 CET), the chart drawn, and a rated capacity set in the
meter form (0 refused with the field's error, then 12.5 kW: 3 kW peak = 24.0 %)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from tests.e2e.conftest import portal_login
from tests.monitoring.load_world import make_load_world

pytestmark = pytest.mark.e2e


@pytest.fixture
def load_world(world_a):
    with organization_context(world_a.org):
        return make_load_world()


def _row(page, meter: str, day: str):
    section = page.locator(f"[data-testid=load-meter][data-meter='{meter}']")
    return section.locator("[data-testid=load-table] tbody tr").filter(has_text=day)


def test_load_and_extremes_pages_show_the_hand_computed_numbers(page, world_a, load_world):
    portal_login(page, world_a.admin.email)
    page.goto(f"/monitoring/load/?from=2026-10-21&to=2026-10-25&meter={load_world.feeder.public_id}")
    d21 = _row(page, "E-LOAD", "21 Oct 2026")
    # peak 9700 W (first at 11:00 CEST), 48 kWh / 24 h, 9.7 / 10 kW, 11 × 15 min above 8 kW
    expect(d21.locator("td")).to_have_text(
        ["21 Oct 2026", "9.700", "21 Oct 2026 11:00 CEST", "2.000", "97.0", "2.75"])
    d25 = _row(page, "E-LOAD", "25 Oct 2026")
    # 5000 W at 01:37 UTC = 02:37 CET; 30 kWh / 25 h; 5 / 10 kW; nothing above 8 kW
    expect(d25.locator("td")).to_have_text(
        ["25 Oct 2026", "5.000", "25 Oct 2026 02:37 CET", "1.200", "50.0", "0.00"])
    expect(page.get_by_test_id("load-capacity")).to_have_text("10.000")
    expect(page.locator("figure[data-chart].chart-drawn")).to_have_count(1)

    page.get_by_role("navigation", name="Monitoring").get_by_role("link", name="Extremes").click()
    page.wait_for_url("**/monitoring/extremes/**")
    page.get_by_label("From").fill("2026-10-25")
    page.get_by_label("To (inclusive)").fill("2026-10-25")
    page.get_by_label("Property").select_option(label="Werkhof")
    page.get_by_label("Quantity").select_option("temperature")
    page.get_by_role("button", name="Show").click()
    rows = page.locator("[data-testid=extremes-table] tbody tr")
    expect(rows).to_have_count(1)
    # max 21 °C at 12:00 CET; min 16.25 °C at the second 02:37 (after 03:00 CEST → 02:00 CET)
    expect(rows.first.locator("td")).to_have_text(
        ["Werkhof", "T-1", "sensor", "Temperature", "°C", "21", "25 Oct 2026 12:00 CET",
         "16.25", "25 Oct 2026 02:37 CET"])


def test_set_a_rated_capacity_from_the_hint(page, world_a, load_world):
    portal_login(page, world_a.admin.email)
    page.goto(f"/monitoring/load/?from=2026-10-21&to=2026-10-21"
              f"&property={load_world.prop.public_id}")
    nocap = page.locator("[data-testid=load-meter][data-meter='E-NOCAP']")
    expect(nocap.get_by_test_id("load-no-capacity")).to_be_visible()
    expect(_row(page, "E-NOCAP", "21 Oct 2026").locator("td")).to_have_text(
        ["21 Oct 2026", "3.000", "21 Oct 2026 12:00 CEST", "—", "—", "—"])
    nocap.get_by_role("link", name="Set the rated capacity").click()
    page.wait_for_url(re.compile(r".*/meters/[0-9a-f-]+/edit/$"))
    page.get_by_label("Rated capacity (kW)").fill("0")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The rated capacity must be more than 0 kW.")).to_be_visible()
    page.get_by_label("Rated capacity (kW)").fill("12.5")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/meters/[0-9a-f-]+/$"))
    page.goto(f"/monitoring/load/?from=2026-10-21&to=2026-10-21"
              f"&property={load_world.prop.public_id}")
    nocap = page.locator("[data-testid=load-meter][data-meter='E-NOCAP']")
    expect(nocap.get_by_test_id("load-capacity")).to_have_text("12.500")
    # 3000 W / 12 500 W = 24.0 %; the one sample (3000 W) is below 80 % = 10 kW: 0 h
    expect(_row(page, "E-NOCAP", "21 Oct 2026").locator("td")).to_have_text(
        ["21 Oct 2026", "3.000", "21 Oct 2026 12:00 CEST", "—", "24.0", "0.00"])
