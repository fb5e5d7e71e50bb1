"""Loss analysis in Chromium on the hand-built world of tests/monitoring/loss_world.py (main
6.25 kWh/h, sub-meters 1 + 2 + 3 kWh/h, S-3 silent on 26 Oct, 25 Oct the DST day): the list
shows the gap, sorted by %; the detail shows each day, the incomplete day flagged, the
Sankey with its labels, and the allocation; nothing breaks the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from tests.e2e.conftest import portal_login
from tests.e2e.test_csp import Violations
from tests.monitoring.loss_world import make_loss_world

pytestmark = pytest.mark.e2e

QUERY = "from=2026-10-24&to=2026-10-26&grain=day"


@pytest.fixture
def world(world_a):
    with organization_context(world_a.org):
        return make_loss_world()


def test_loss_list_and_detail(browser, live_server, world, world_a):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280,
                                                                      "height": 900})
    violations = Violations(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations.watch(page)
    portal_login(page, world_a.viewer.email)
    page.goto(f"/monitoring/losses/?{QUERY}")
    expect(page.get_by_role("link", name="Losses")).to_have_attribute("aria-current", "page")
    row = page.locator('[data-testid="loss-row"][data-meter="M-1"]')
    # complete days 24 + 25 Oct: 150 + 156.25 = 306.25 kWh main, 144 + 150 = 294 kWh subs,
    # loss 12.25 kWh = 4.0 %, one incomplete day (26 Oct, S-3 silent)
    expect(row).to_contain_text("306.250")
    expect(row).to_contain_text("294.000")
    expect(row).to_contain_text("12.250")
    expect(row.locator("td").nth(6)).to_have_text("4.0")
    expect(row.locator("td").nth(7)).to_have_text("1")
    page.get_by_test_id("sort-percent").click()
    expect(page).to_have_url(f"{live_server.url}/monitoring/losses/?{QUERY}&sort=percent")
    page.get_by_role("link", name="M-1 Gapstrasse main").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Losses of M-1")
    days = page.get_by_test_id("loss-period")
    expect(days).to_have_count(3)
    # 25 Oct (25 h): 156.25 − 150 = 6.25 kWh = 4.0 %
    expect(days.nth(1)).to_contain_text("156.250")
    expect(days.nth(1)).to_contain_text("6.250")
    expect(days.nth(1).locator("td").nth(4)).to_have_text("4.0")
    expect(days.nth(2)).to_have_attribute("data-incomplete", "1")
    expect(days.nth(2)).to_contain_text("incomplete")
    expect(days.nth(2)).to_contain_text("No data from S-3")
    expect(days.nth(2).locator("td").nth(3)).to_have_text("—")  # no loss counted
    svg = page.get_by_test_id("sankey")
    expect(svg).to_be_visible()
    expect(svg).to_have_attribute("role", "img")
    expect(svg.locator("title#sankey-title")).to_have_text("Energy flow from main meter "
                                                           "M-1 Gapstrasse main")
    expect(page.get_by_test_id("sankey-main")).to_have_text("306.25 kWh (100 %)")
    flows = page.get_by_test_id("sankey-flow")
    expect(flows).to_have_count(4)
    # shares of 306.25: 49 = 16.0 %, 98 = 32.0 %, 147 = 48.0 %, 12.25 = 4.0 %
    expect(flows.nth(0).locator("text")).to_have_text("S-1 Flat 1 — 49 kWh (16.0 %)")
    expect(flows.nth(2).locator("text")).to_have_text("S-3 Flat 3 — 147 kWh (48.0 %)")
    expect(flows.nth(3).locator("text")).to_have_text("Unmetered remainder — 12.25 kWh (4.0 %)")
    heights = svg.evaluate("s => [...s.querySelectorAll('.node-sub, .node-loss')]"
                           ".map(r => r.getBBox().height)")
    assert heights[2] == pytest.approx(3 * heights[0], rel=0.01)  # 147 = 3 × 49 kWh
    allocation = page.get_by_test_id("loss-allocation")
    # 12.25 kWh by area 50/70/80 m² → 3.063 / 4.287 / 4.900 (largest remainder)
    expect(allocation.locator("tbody tr").nth(0)).to_contain_text("3.063")
    expect(allocation.locator("tbody tr").nth(1)).to_contain_text("4.287")
    expect(allocation.locator("tbody tr").nth(2)).to_contain_text("4.900")
    violations.assert_none("the loss pages")
    context.close()
