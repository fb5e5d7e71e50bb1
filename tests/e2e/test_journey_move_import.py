"""Two manager journeys in Chromium: a move with a new tenant created in place, the meters'
last readings shown, and the outgoing tenant's final bill offered; a CSV of readings in
the property's date form (03.12.2026) imported, and the template downloaded."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from readings.models import Reading
from tenants import services
from tenants.models import Move, Tenant
from tests.billing.builders import BERLIN, at, make_house, read
from tests.e2e.conftest import portal_login
from tests.e2e.test_csp import Violations
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "move-import"


def shoot(page, name: str) -> None:
    """Screenshots at 1440 px and 390 px (looked at by hand; not asserted)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(700)  # the sidebar's slide-out transition
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)


@pytest.fixture
def house(world_a):
    with organization_context(world_a.org):
        h = make_house()
        read(h.meter, (at(date(2026, 9, 1)), "1100"), (at(date(2026, 10, 1), 14), "1400"))
        services.tenant_create(name="Ms Keller")
    return h


def csp_watch(page) -> Violations:
    violations = Violations(page.context)  # before the first page: the pages run under CSP
    violations.watch(page)
    return violations


def test_move_with_a_new_tenant_and_the_final_bill(page, world_a, house):
    violations = csp_watch(page)
    portal_login(page, world_a.manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tenants").click()
    page.get_by_role("link", name="Register a move").first.click()
    page.get_by_label("Billing point").select_option(label=str(house.bp))
    page.get_by_label("Move date").fill("2026-11-01")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_test_id("outgoing")).to_contain_text(house.tenant.name)
    incoming = page.get_by_label("Incoming tenant")
    options = incoming.locator("option").all_text_contents()
    assert not any(house.tenant.name in o for o in options), options  # who leaves
    assert any("Ms Keller" in o for o in options)
    expect(page.get_by_test_id("last-reading")).to_contain_text("1400")
    expect(page.get_by_test_id("last-reading")).to_contain_text("1 Oct 2026 14:00")

    new_tenant = page.get_by_test_id("new-tenant")
    expect(new_tenant).to_be_hidden()  # only for "a new tenant"
    incoming.select_option(value="new")
    expect(new_tenant).to_be_visible()
    shoot(page, "move-details")
    new_tenant.get_by_label("Name").fill("Mrs Novak")
    new_tenant.get_by_label("Email").fill("novak@example.com")
    page.get_by_label(re.compile(house.meter.serial_number)).fill("1500,5")
    page.get_by_role("button", name="Review the move").click()
    expect(page.get_by_test_id("incoming")).to_contain_text("Mrs Novak")
    expect(page.get_by_test_id("incoming")).to_contain_text("new tenant")
    with organization_context(world_a.org):
        assert not Tenant.objects.filter(name="Mrs Novak").exists()

    page.get_by_role("button", name="Confirm move").click()
    expect(page.get_by_text(f"Move registered at {house.bp.name}")).to_be_visible()
    expect(page.get_by_test_id("incoming")).to_contain_text("Mrs Novak")
    final_bill = page.get_by_test_id("final-bill")
    expect(final_bill).to_contain_text("1 Aug – 31 Oct 2026")
    shoot(page, "move-done")
    final_bill.get_by_role("link", name=f"Final bill of {house.tenant.name}").click()

    expect(page).to_have_url(re.compile(r"/billing/preview/\?subscription="))
    expect(page.get_by_text("can be billed").first).to_be_visible()
    expect(page.locator(".preview-invoice h2").first).to_contain_text(house.tenant.name)
    with organization_context(world_a.org):
        move = Move.objects.get()
        assert move.incoming.tenant.name == "Mrs Novak"
        assert Reading.objects.get(meter=house.meter, read_at=at(date(2026, 11, 1))).value \
            == Decimal("1500.5")
    violations.assert_none("the move wizard")


@pytest.fixture
def meter(world_a):
    with organization_context(world_a.org):
        return make_meter("CSV-1", tz="Europe/Berlin",
                          connected_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_csv_with_local_dates_and_the_template(page, world_a, meter):
    violations = csp_watch(page)
    portal_login(page, world_a.operator.email)
    page.goto("/readings/upload/")
    expect(page.get_by_test_id("date-forms")).to_contain_text("03.12.2026")
    shoot(page, "upload")
    with page.expect_download() as download:
        page.get_by_test_id("upload-template").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    header, example = list(csv.reader(io.StringIO(text)))
    assert header == ["meterNumber", "readAt", "value", "quality"]
    assert example[0] == "CSV-1" and re.fullmatch(r"\d\d\.\d\d\.\d{4} 00:00", example[1])

    page.get_by_label("CSV file").set_input_files({
        "name": "december.csv", "mimeType": "text/csv",
        "buffer": b"meterNumber;readAt;value\nCSV-1;01.12.2026;100\nCSV-1;3.12.2026 14:00;150,5\n",
    })
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("upload-status")).to_have_text("Imported")
    expect(page.get_by_test_id("created-count")).to_have_text("2")
    with organization_context(world_a.org):
        stored = list(Reading.objects.filter(meter=meter).order_by("read_at")
                      .values_list("read_at", "value"))
    assert stored == [(datetime(2026, 12, 1, tzinfo=BERLIN), Decimal("100")),
                      (datetime(2026, 12, 3, 14, tzinfo=BERLIN), Decimal("150.5"))]

    page.goto("/readings/upload/")
    page.get_by_label("CSV file").set_input_files({
        "name": "short-year.csv", "mimeType": "text/csv",
        "buffer": b"meterNumber;readAt;value\nCSV-1;04.12.26;160\n",
    })
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("upload-status")).to_have_text("Rejected")
    report = page.get_by_test_id("error-report")
    expect(report).to_contain_text("four digits")
    expect(report).to_contain_text("readAt")
    shoot(page, "upload-rejected")
    violations.assert_none("the CSV upload")
