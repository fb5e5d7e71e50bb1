"""An operator uploads a CSV (and sees every bad row), then enters a reading by hand."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from readings.models import Reading
from tests.e2e.conftest import portal_login
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.e2e


@pytest.fixture
def meter(world_a):
    with organization_context(world_a.org):
        return make_meter("E2E-1", connected_at=datetime(2025, 1, 1, tzinfo=UTC))


def _upload(page, name: str, content: bytes) -> None:
    page.goto("/readings/upload/")
    page.get_by_label("CSV file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Upload").click()


def test_upload_report_then_fix_and_manual_entry(page, world_a, meter):
    portal_login(page, world_a.operator.email)
    _upload(
        page, "bad.csv", b"meterNumber;readAt;value\nE2E-1;2025-02-01;100\nE2E-1;2025-03-01;abc\n"
    )
    expect(page.get_by_test_id("upload-status")).to_have_text("Rejected")
    report = page.get_by_test_id("error-report")
    expect(report).to_contain_text("Not a number")
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Download report (CSV)")).to_be_visible()
    assert Reading.objects.unscoped().count() == 0

    _upload(
        page,
        "good.csv",
        b"meterNumber;readAt;value\nE2E-1;2025-02-01;100\nE2E-1;2025-03-01;150,5\n",
    )
    expect(page.get_by_test_id("upload-status")).to_have_text("Imported")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("created-count")).to_have_text("2")

    page.goto("/readings/")
    page.get_by_role("link", name="E2E-1").first.click()
    expect(page).to_have_url(re.compile(r"/readings/meters/"))
    page.get_by_label("Read at").fill("2025-04-01T00:00")
    page.get_by_label("Register value").fill("170,5")
    page.get_by_role("button", name="Check").click()
    preview = page.get_by_test_id("reading-preview")
    expect(preview).to_contain_text("Previous reading: 150.5000")
    expect(preview).to_contain_text("Implied consumption: 20 kWh")
    page.get_by_role("button", name="Save reading").click()
    expect(page.get_by_text("Reading 170.5 saved for E2E-1")).to_be_visible()
    expect(page.get_by_test_id("meter-readings")).to_contain_text("170.5000")
    assert Reading.objects.unscoped().count() == 3
