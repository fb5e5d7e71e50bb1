"""Exports in a real browser: a manager downloads the energy report as XLSX (the file opens
in openpyxl with the page's numbers), then schedules the same report by email from the
page's "Schedule this report" link (a bad address is refused and named first).

Dataset (tests/monitoring/test_exports.py): Flat 1's E-1 uses 2 kWh an hour, Flat 2's W-1
1 m³ an hour; 24, 25 (the clocks go back) and 26 Oct 2026 are complete local days.
"""

from __future__ import annotations

import openpyxl
import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from monitoring.models import ScheduledReport
from tests.e2e.conftest import portal_login
from tests.monitoring.test_exports import EXPECTED, build_house, naive

pytestmark = pytest.mark.e2e

URL = "/monitoring/reports/energy/?from=2026-10-24&to=2026-10-26&group_by=billing_point,day"


def test_download_xlsx_then_schedule_the_report(page, world_a, tmp_path):
    with organization_context(world_a.org):
        build_house(world_a)
    portal_login(page, world_a.manager.email)
    page.goto(URL)
    expect(page.get_by_test_id("energy-table")).to_contain_text("Flat 2")
    with page.expect_download() as info:
        page.get_by_test_id("export-xlsx").click()
    download = info.value
    assert download.suggested_filename == "energy-report.xlsx"
    path = tmp_path / "report.xlsx"
    download.save_as(path)
    rows = list(openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("Billing point", "Day", "Quantity", "Unit")
    # E-1: 48, 50 (25-hour day), 48 kWh; W-1: 24, 25, 24 m³
    assert rows[1:] == [(bp, naive(d.year, d.month, d.day), q, u) for bp, d, q, u in EXPECTED]

    page.get_by_test_id("schedule-this").click()
    expect(page.locator("#id_page")).to_have_value("/monitoring/reports/energy/")
    expect(page.locator("#id_query")).to_have_value(
        "from=2026-10-24&to=2026-10-26&group_by=billing_point%2Cday")
    page.locator("#id_name").fill("Weekly energy for the owner")
    page.locator("#id_format").select_option("pdf")
    page.locator("#id_frequency").select_option("weekly")
    page.locator("#id_weekday").select_option("0")
    page.locator("#id_recipients").fill("owner@example.test, owner-at-example")
    page.get_by_role("button", name="Create scheduled report").click()
    expect(page.locator('[data-field="recipients"]')).to_contain_text("'owner-at-example'")
    page.locator("#id_recipients").fill("owner@example.test")
    page.get_by_role("button", name="Create scheduled report").click()
    row = page.get_by_test_id("schedule-row")
    expect(row).to_contain_text("Weekly energy for the owner")
    expect(row).to_contain_text("Every Monday, 07:00")
    expect(row).to_contain_text("Energy report")
    with organization_context(world_a.org):
        report = ScheduledReport.objects.get()
    assert (report.format, report.frequency, report.weekday, report.recipients) == (
        "pdf", "weekly", 0, "owner@example.test")
    assert report.next_run_at.astimezone(world_a.org.time_zone).weekday() == 0
