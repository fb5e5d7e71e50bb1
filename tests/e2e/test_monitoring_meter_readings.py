"""Scheduled meter reading in Chromium: a manager opens Monitoring → Meter readings, fills
the form with plain controls (date inputs, a schedule select, a time text box, a property
select, meter and measurement checkboxes), and reads the registers of the hand-computed
Zurich dataset (``tests/monitoring/meter_readings_world.py``) with the interpolated ones
marked, across the autumn DST day and at a local time that does not exist in spring."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from tests.e2e.conftest import ARTIFACTS, portal_login
from tests.e2e.test_csp import Violations
from tests.monitoring.meter_readings_world import build_house

pytestmark = pytest.mark.e2e


@pytest.fixture
def house(world_a):
    with organization_context(world_a.org):
        return build_house()


def _row(page, meter: str, time: str):
    return page.locator(f'tr[data-meter="{meter}"][data-time="{time}"]')


def _show(page, *, first: str, last: str, every: str, at: str, meters: list[str],
          power: bool = False) -> None:
    page.get_by_label("From").fill(first)
    page.get_by_label("To (inclusive)").fill(last)
    page.get_by_label("Schedule", exact=True).select_option(every)
    page.get_by_label("Time of day (local)").fill(at)
    page.get_by_label("Property").select_option(label="Seehaus")
    for serial in ("E-1", "E-2", "E-4", "W-1"):
        box = page.get_by_role("checkbox", name=serial, exact=True)
        box.set_checked(serial in meters)
    page.get_by_role("checkbox", name="Active power (total)").set_checked(power)
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")


def test_a_manager_reads_registers_at_midnight_with_interpolations_marked(page, world_a, house):
    violations = Violations(page.context)
    violations.watch(page)
    portal_login(page, world_a.manager.email)
    page.goto("/monitoring/meter-readings/")
    tabs = page.get_by_role("navigation", name="Monitoring")
    expect(tabs.get_by_role("link", name="Meter readings")).to_have_attribute(
        "aria-current", "page")

    _show(page, first="2026-10-24", last="2026-10-27", every="day", at="00:00",
          meters=["E-1"], power=True)
    table = page.get_by_test_id("meter-readings-table")
    expect(table.locator("tbody tr")).to_have_count(4)
    # 24 Oct 00:00 CEST = 23 Oct 22:00 UTC: the reading itself
    first = _row(page, "E-1", "2026-10-24 00:00")
    expect(first.locator("td[data-basis]")).to_have_text("100.0000")
    expect(first.locator("td[data-basis]")).to_have_attribute("data-basis", "read")
    expect(first).to_contain_text("CEST")
    # 25 Oct 00:00 CEST = 24 Oct 22:00 UTC: 118 + 13 × 6/13 = 124, interpolated;
    # 1500 W measured 5 min before
    second = _row(page, "E-1", "2026-10-25 00:00")
    expect(second.locator("td[data-basis]")).to_have_attribute("data-basis", "interpolated")
    expect(second.locator("td[data-basis]")).to_contain_text("124.0000")
    expect(second.locator(".badge")).to_have_text("interpolated")
    expect(second.locator('td[data-quantity="active_power"]')).to_have_text("1500.0")
    # after the DST change: 26 Oct 00:00 CET = 25 Oct 23:00 UTC: 131 + 24 × 18/24 = 149
    third = _row(page, "E-1", "2026-10-26 00:00")
    expect(third.locator("td[data-basis]")).to_contain_text("149.0000")
    expect(third).to_contain_text("CET")
    expect(third.locator(".badge")).to_have_text("interpolated")
    # inside the week-long gap: 155 + 186 × 18/186 = 173
    expect(_row(page, "E-1", "2026-10-27 00:00").locator("td[data-basis]")).to_contain_text(
        "173.0000")
    expect(page.get_by_test_id("meter-readings-legend")).to_contain_text("interpolated")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "monitoring-meter-readings.png"), full_page=True)

    # spring: 02:30 does not exist on 29 Mar; W-1 is taken at 03:30 CEST = 12.5 m³
    _show(page, first="2026-03-28", last="2026-03-30", every="day", at="02:30", meters=["W-1"])
    expect(page.get_by_test_id("meter-readings-table").locator("tbody tr")).to_have_count(3)
    gap = _row(page, "W-1", "2026-03-29 02:30")
    expect(gap.locator("td[data-basis]")).to_contain_text("12.5000")
    expect(gap).to_contain_text("02:30 does not exist on 29 Mar 2026")
    expect(_row(page, "W-1", "2026-03-28 02:30")).to_contain_text(
        "Before the meter was connected")
    expect(_row(page, "W-1", "2026-03-30 02:30").locator(".badge")).to_have_text("read")

    # a bad time names the field, and nothing is shown
    page.get_by_label("Time of day (local)").fill("25:00")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".error")).to_contain_text("Not a local time (HH:MM")
    expect(page.get_by_test_id("meter-readings-table")).to_have_count(0)
    violations.assert_none("meter readings")
