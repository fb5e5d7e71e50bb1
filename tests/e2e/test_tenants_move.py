"""A manager registers a move in a real browser: outgoing shown, incoming chosen, meter
read, confirmed; then the billing point's timeline shows the new occupant."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from readings.models import Reading
from tenants import services
from tenants.models import Move, Occupancy
from tests.e2e.conftest import portal_login
from tests.tenants.factories import BERLIN, make_billing_point, make_meter, make_tenant

pytestmark = pytest.mark.e2e


@pytest.fixture
def building(world_a):
    with organization_context(world_a.org):
        flat = make_billing_point(name="Apartment Rez Gauche")
        meter = make_meter(flat, datetime(2021, 1, 1, tzinfo=BERLIN), serial="E-100")
        blumer = make_tenant(name="Mr Blumer")
        make_tenant(name="Ms Keller")
        services.ownership_set(owner=make_tenant(name="Owner SA"), property=flat.property)
        services.occupancy_create(
            tenant=blumer, billing_point=flat, move_in=datetime(2021, 12, 1, tzinfo=BERLIN)
        )
    return flat, meter


def test_register_a_move(page, world_a, building):
    flat, meter = building
    portal_login(page, world_a.manager.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tenants").click()
    page.get_by_role("link", name="Register a move").first.click()

    page.get_by_label("Billing point").select_option(label=str(flat))
    page.get_by_label("Move date").fill("2024-07-01")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_test_id("outgoing")).to_contain_text("Mr Blumer")
    page.get_by_label("Incoming tenant").select_option(label="Ms Keller (C00002)")
    page.get_by_label(re.compile("E-100")).fill("1234,5")
    page.get_by_role("button", name="Review the move").click()
    expect(page.get_by_role("button", name="Change")).to_be_visible()
    expect(page.get_by_test_id("incoming")).to_contain_text("Ms Keller")
    with organization_context(world_a.org):
        assert not Move.objects.exists(), "nothing is written before the confirmation"

    page.get_by_role("button", name="Confirm move").click()
    expect(page.get_by_text("Move registered at Apartment Rez Gauche")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Move at Apartment Rez Gauche")
    page.get_by_role("link", name="Occupancy of Apartment Rez Gauche").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apartment Rez Gauche")
    expect(page.get_by_test_id("occupancies")).to_contain_text("Ms Keller")
    expect(page.get_by_test_id("moves")).to_contain_text("1234.5")

    moved_at = datetime(2024, 7, 1, tzinfo=BERLIN)
    with organization_context(world_a.org):
        blumer_occ, keller_occ = Occupancy.objects.order_by("move_in")
        assert blumer_occ.move_out == moved_at and keller_occ.move_in == moved_at
        assert keller_occ.tenant.name == "Ms Keller" and keller_occ.move_out is None
        assert Reading.objects.get(meter=meter, read_at=moved_at).value == Decimal("1234.5")


def test_move_error_is_shown_and_nothing_written(page, world_a, building):
    flat, _ = building
    portal_login(page, world_a.manager.email)
    page.goto(f"/tenants/moves/new/?billing_point={flat.public_id}")
    page.get_by_label("Move date").fill("2021-11-01")  # before Mr Blumer: vacant
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("outgoing")).to_contain_text("Nobody")
    page.get_by_role("button", name="Review the move").click()
    page.get_by_role("button", name="Confirm move").click()
    expect(page.get_by_text("already vacant")).to_be_visible()
    with organization_context(world_a.org):
        assert not Move.objects.exists()
        assert Occupancy.objects.get().move_out is None
