"""A manager previews a period in a real browser, creates the invoice, traces a line to its
readings, issues it after a confirmation; previewing again, "Create invoice" is disabled."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.e2e.conftest import portal_login

pytestmark = pytest.mark.e2e


@pytest.fixture
def house(world_a):
    with organization_context(world_a.org):
        h = make_house()
        read(h.meter, (at(date(2026, 9, 1)), "1100"), (at(date(2026, 10, 1)), "1400"))
    return h


def _preview(page, house) -> None:
    page.goto("/billing/preview/")
    page.get_by_label("Subscription").select_option(value=str(house.subscription.public_id))
    page.get_by_label("Start").fill("2026-09-01")
    page.get_by_label("End").fill("2026-10-01")
    page.get_by_role("button", name="Preview").click()


def test_preview_create_trace_issue(page, world_a, house):
    portal_login(page, world_a.manager.email)
    _preview(page, house)
    expect(page.locator(".preview-invoice")).to_contain_text("95.08")
    expect(page.locator(".preview-invoice")).to_contain_text(house.meter.serial_number)
    page.get_by_role("button", name="Create invoice").click()
    expect(page.get_by_role("heading", name="Draft invoice")).to_be_visible()
    expect(page.locator(".invoice-lines")).to_contain_text("start 1100")
    expect(page.locator(".invoice-lines")).to_contain_text("end 1400")
    page.get_by_role("link", name="Issue…").click()
    page.get_by_role("button", name="Issue").click()
    expect(page.get_by_role("heading", name="Invoice INV-000001")).to_be_visible()
    _preview(page, house)
    expect(page.get_by_role("button", name="Create invoice")).to_be_disabled()
    expect(page.locator(".preview-invoice")).to_contain_text("already invoiced")
