"""Manager journeys of the dashboard slice in Chromium: the dashboard's numbers, checklist
and activity; a charge rule starting at the organization's VAT rate and showing only the
fields of its kind; "Poll now" refreshing the gateway page with the result."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from billing import services as billing_services
from billspree.core.scoping import organization_context
from tests.e2e.conftest import ARTIFACTS, portal_login
from tests.gateways.conftest import sim  # noqa: F401  (the Modbus simulator fixture)
from tests.gateways.helpers import make_gateway, map_default_layout

pytestmark = pytest.mark.e2e


def _shots(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 860})


def test_a_new_admin_sees_what_is_left_to_set_up(world_a, page):
    portal_login(page, world_a.admin.email)
    checklist = page.get_by_test_id("getting-started")
    expect(checklist).to_be_visible()
    expect(checklist.locator("[data-done=no]")).to_have_count(8)
    checklist.get_by_role("link", name="Add a property").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("property")


def test_the_dashboard_shows_what_matters_and_links_to_it(populated, page):
    world = populated[0]
    portal_login(page, world.admin.email)
    checklist = page.get_by_test_id("getting-started")
    expect(checklist.locator("[data-done=yes]")).to_have_count(8)
    unread = page.get_by_test_id("card-meters-unread-for-24-h")
    expect(unread).to_have_class(re.compile(r"card-(amber|red)"))
    expect(page.get_by_test_id("card-billed-this-month")).to_contain_text("EUR")
    _shots(page, "dashboard-admin")
    activity = page.get_by_test_id("recent-activity")
    # the populated world ends with many other events (payments, reminders, bank files):
    # issue its draft now, so the invoice is among the latest
    with organization_context(world.org):
        invoice = billing_services.invoice_issue(invoice=world.objects["invoice"])
    page.reload()
    row = activity.get_by_test_id("activity").filter(has_text=f"issued invoice {invoice.number}")
    row.get_by_role("link", name=invoice.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.number)
    page.go_back()
    page.get_by_test_id("card-meters-unread-for-24-h").click()
    expect(page).to_have_url(re.compile(r"/readings/$"))


def test_a_charge_rule_starts_at_the_default_vat_and_tiers_have_no_unit_price(populated, page):
    world = populated[0]
    portal_login(page, world.admin.email)
    page.goto("/settings/")
    page.get_by_label("Default VAT rate").fill("8.1")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash")).to_contain_text("Settings saved")

    page.goto(f"/tariffs/rate-lists/{world.objects['rate_list'].public_id}/")
    page.get_by_role("link", name="Add rule").first.click()
    expect(page.get_by_label("Tax rate")).to_have_value(re.compile(r"^8\.10?$"))
    price = page.get_by_test_id("field-price")
    expect(price).to_be_visible()
    page.get_by_label("Kind").select_option("tiered")
    expect(price).to_be_hidden()
    expect(page.get_by_test_id("field-allowance")).to_be_visible()
    page.get_by_label("Kind").select_option("flat")
    expect(price).to_be_visible()
    page.get_by_label("Kind").select_option("tiered")
    page.locator("#id_name").fill("Water blocks")
    page.get_by_label("Meter type").select_option("cold_water")
    page.get_by_label("Block 1 up to").fill("10")
    page.get_by_label("Block 1 price").fill("1.80")
    page.get_by_label("Block 2 price").fill("2.40")
    page.get_by_role("button", name="Save rule").click()
    row = page.locator("table.rules tr", has_text="Water blocks")
    expect(row).to_contain_text("8.1 %")
    expect(row).to_contain_text("1.8")
    _shots(page, "rate-list-tiered")


def test_poll_now_refreshes_the_gateway_page_with_the_result(world_a, page, sim):  # noqa: F811
    with organization_context(world_a.org):
        gateway = make_gateway(sim, name="Basement gateway")
        map_default_layout(gateway, 3)
    portal_login(page, world_a.operator.email)
    page.goto(f"/gateways/{gateway.public_id}/")
    expect(page.get_by_test_id("gateway-figures")).to_contain_text("Unknown")
    page.evaluate("window.__samePage = true")
    page.get_by_role("button", name="Poll now").click()
    status = page.get_by_test_id("poll-status")
    expect(status).to_have_attribute("data-state", "done")
    expect(status).to_contain_text("Polled Basement gateway")
    figures = page.get_by_test_id("gateway-figures")
    expect(figures).to_contain_text("Online")  # the page's figures, without a reload
    expect(page.locator("h1 #gateway-check .check-ok")).to_be_visible()  # and its heading
    expect(page.get_by_test_id("meter-table").locator(".check-ok")).to_have_count(3)
    expect(page.locator("section", has_text="Recent polls")).to_contain_text("manual")
    assert page.evaluate("window.__samePage === true"), "the page was reloaded"
    _shots(page, "gateway-polled")
