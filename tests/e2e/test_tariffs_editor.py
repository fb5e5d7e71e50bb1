"""Tariff editor in a real browser: create a rate list, add a tiered rule with tier rows,
see a bad row named, then try it and read the lines and total."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from tariffs.models import RateList
from tests.e2e.conftest import portal_login

pytestmark = pytest.mark.e2e


def test_manager_builds_a_tiered_tariff_and_tries_it(page, world_a):
    portal_login(page, world_a.manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tariffs").click()
    expect(page.get_by_text("No rate lists yet")).to_be_visible()
    page.get_by_role("link", name="Create the first rate list").click()
    page.get_by_label("Name").fill("Water")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Effective from").fill("2026-01-01")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Water")

    page.get_by_role("link", name="Add rule").click()
    page.locator("#id_name").fill("Cold water")
    page.get_by_label("Kind").select_option("tiered")
    page.get_by_label("Meter type").select_option("cold_water")
    page.get_by_label("Tax rate").fill("7")
    page.get_by_label("Block 1 up to").fill("10")
    page.get_by_label("Block 1 price").fill("1.80")
    page.get_by_label("Block 2 up to").fill("5")  # out of order: refused, row named
    page.get_by_label("Block 2 price").fill("2.40")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Row 2: up_to 5 must be greater than 10")).to_be_visible()
    page.get_by_label("Block 2 up to").fill("")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Each block at its own price.")).to_be_visible()

    page.get_by_role("link", name="Try it").click()
    page.get_by_label("First day").fill("2026-03-01")
    page.get_by_label("Last day").fill("2026-03-31")
    page.get_by_label("Cold water used").fill("14")
    page.get_by_role("button", name="Price it").click()
    # 10 × 1.80 = 18.00; 4 × 2.40 = 9.60; VAT 7 %: 1.26 + 0.67 = 1.93 → 29.53
    expect(page.get_by_test_id("quote-total")).to_have_text("29.53")
    with organization_context(world_a.org):
        rule = RateList.objects.get(name="Water").versions.get().rules.get()
        assert rule.tiers == [{"up_to": "10", "price": "1.80"}, {"up_to": None, "price": "2.40"}]
