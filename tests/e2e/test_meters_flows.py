"""Meter registry flows in a real browser: new connection, assign meter, replace meter."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from meters import services
from meters.models import BillingPoint, MeterAssignment, MeterType
from tests.e2e.conftest import portal_login
from tests.meters.factories import make_registry

pytestmark = pytest.mark.e2e


@pytest.fixture
def reg(world_a):
    with organization_context(world_a.org):
        return make_registry("Lindenhof")


def test_new_connection_creates_billing_point_with_meters(page, world_a, reg):
    prop, _, meters = reg
    portal_login(page, world_a.manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Properties").click()
    page.get_by_role("link", name="Lindenhof").click()
    page.get_by_role("link", name="New connection").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New connection")
    page.get_by_label("Connection ID").fill("LH-A7")
    page.get_by_label("Name").fill("Apartment 7")
    page.get_by_label("Meters connected on").fill("2026-04-01")
    page.get_by_label("Meter 1 type").select_option("electricity")
    page.get_by_label("Meter 1 serial number").fill("EL-NEW-7")
    page.get_by_label("Meter 1 initial reading").fill("12.5")
    page.get_by_label("Meter 2 type").select_option("cold_water")
    # an existing meter of another type: the form comes back with the error, nothing saved
    page.get_by_label("Meter 2 serial number").fill(meters[MeterType.GAS].serial_number)
    page.get_by_role("button", name="Create connection").click()
    expect(page.get_by_text("measures gas")).to_be_visible()
    with organization_context(world_a.org):
        assert not BillingPoint.objects.filter(connection_id="LH-A7").exists()
    page.get_by_label("Meter 2 serial number").fill(meters[MeterType.COLD_WATER].serial_number)
    page.get_by_label("Meter 2 initial reading").fill("3")
    page.get_by_role("button", name="Create connection").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apartment 7")
    active = page.get_by_test_id("active-meters")
    expect(active.get_by_text("EL-NEW-7")).to_be_visible()
    expect(active.get_by_text(meters[MeterType.COLD_WATER].serial_number)).to_be_visible()
    with organization_context(world_a.org):
        a = MeterAssignment.objects.get(meter__serial_number="EL-NEW-7")
        assert a.billing_point.connection_id == "LH-A7" and a.initial_reading == Decimal("12.5")


def test_assign_meter_lists_inactive_meters_by_type(page, world_a, reg):
    prop, bp, meters = reg
    with organization_context(world_a.org):
        other = services.billing_point_create(property=prop, connection_id="LH-S1", name="Shop 1")
        services.meter_assign(
            billing_point=other, meter=meters[MeterType.HOT_WATER], connected_at=date(2026, 1, 1)
        )
    portal_login(page, world_a.manager.email)
    page.goto(f"/billing-points/{bp.public_id}/")
    expect(page.get_by_text("No active meters")).to_be_visible()
    page.get_by_role("link", name="Assign meter").first.click()
    page.get_by_label("Meter type").select_option("water")
    options = page.locator("#meter-options select option")
    expect(options).to_have_count(2)  # the placeholder and the only inactive water meter
    expect(options.nth(1)).to_contain_text(meters[MeterType.COLD_WATER].serial_number)
    page.locator("#meter-options select").select_option(str(meters[MeterType.COLD_WATER].public_id))
    page.get_by_label("Connection date").fill("2026-02-01")
    page.get_by_label("Initial reading").fill("42")
    page.get_by_role("button", name="Assign meter").click()
    expect(page.get_by_text(re.compile(r"Meter .* assigned"))).to_be_visible()
    expect(
        page.get_by_test_id("active-meters").get_by_text(meters[MeterType.COLD_WATER].serial_number)
    ).to_be_visible()
    with organization_context(world_a.org):
        assert MeterAssignment.objects.get(meter=meters[MeterType.COLD_WATER]).billing_point == bp


def test_replace_meter_with_confirmation(page, world_a, reg):
    _, bp, meters = reg
    with organization_context(world_a.org):
        old = meters[MeterType.ELECTRICITY]
        a = services.meter_assign(
            billing_point=bp, meter=old, connected_at=date(2026, 1, 1), initial_reading=100
        )
        new = services.meter_create(type=MeterType.ELECTRICITY, serial_number="EL-REPL-1")
    portal_login(page, world_a.manager.email)
    page.goto(f"/billing-points/{bp.public_id}/")
    page.get_by_role("link", name="Replace").click()
    page.locator("#id_new_meter").select_option(str(new.public_id))
    page.get_by_label("Replacement date").fill("2026-06-15")
    page.get_by_label("Old meter's final reading").fill("1834.2")
    page.get_by_label("New meter's initial reading").fill("0.5")
    page.get_by_role("button", name="Continue").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("EL-REPL-1")
    expect(confirm).to_contain_text("1834.2")
    with organization_context(world_a.org):
        a.refresh_from_db()
        assert a.removed_at is None  # nothing happens before the confirmation
    page.get_by_role("button", name="Confirm replacement").click()
    expect(page.get_by_text(f"Meter {old.serial_number} replaced by EL-REPL-1")).to_be_visible()
    expect(page.get_by_test_id("active-meters").get_by_text("EL-REPL-1")).to_be_visible()
    expect(page.get_by_test_id("meter-history").get_by_text(old.serial_number)).to_be_visible()
    with organization_context(world_a.org):
        a.refresh_from_db()
        successor = MeterAssignment.objects.get(meter=new)
        assert a.final_reading == Decimal("1834.2") and successor.initial_reading == Decimal("0.5")
        assert a.removed_at == successor.connected_at
