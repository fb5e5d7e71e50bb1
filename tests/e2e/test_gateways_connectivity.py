"""An operator checks gateway connectivity, polls now and switches a relay, in a browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from billspree.core.models import AuditEvent
from billspree.core.scoping import organization_context
from gateways.models import PollRun
from tests.e2e.conftest import portal_login
from tests.gateways.conftest import sim  # noqa: F401  (the Modbus simulator fixture)
from tests.gateways.helpers import make_gateway, map_default_layout

pytestmark = pytest.mark.e2e


def test_poll_now_turns_the_check_green_and_relay_switch_is_audited(
    transactional_db, page, world_a, sim  # noqa: F811
):
    with organization_context(world_a.org):
        gateway = make_gateway(sim, name="Basement gateway")
        map_default_layout(gateway)
        dead = make_gateway(None, name="Roof gateway", retries=0, offline_after=1)

    portal_login(page, world_a.operator.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Gateways").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gateways")
    row = page.get_by_test_id("gateway-table").locator("tr", has_text="Basement gateway")
    expect(row.locator(".check")).to_have_attribute("title", "Not polled yet")

    row.get_by_role("button", name="Poll now").click()
    expect(page.get_by_text("Polling Basement gateway now")).to_be_visible()
    row = page.get_by_test_id("gateway-table").locator("tr", has_text="Basement gateway")
    expect(row.locator(".check-ok")).to_be_visible()
    page.get_by_test_id("gateway-table").locator("tr", has_text="Roof gateway").get_by_role(
        "button", name="Poll now"
    ).click()
    dead_row = page.get_by_test_id("gateway-table").locator("tr", has_text="Roof gateway")
    expect(dead_row.locator(".check-bad")).to_be_visible()
    expect(dead_row).to_contain_text("Cannot connect")

    page.get_by_role("link", name="Basement gateway").click()
    meters = page.get_by_test_id("meter-table")
    expect(meters.locator(".check-ok")).to_have_count(7)
    relay_row = meters.locator("tr", has_text="#7")
    relay_row.get_by_role("link", name="Switch off").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Switch the supply")
    state = page.get_by_test_id("relay-state")  # the page asks the meter on its own
    expect(state).to_contain_text("read from the meter")
    expect(state).to_contain_text("supply on")
    page.get_by_label("Reason").fill("Arrears after two reminders")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send to meter").click()
    expect(page.get_by_text(re.compile(r"switched OFF"))).to_be_visible()
    expect(page.get_by_test_id("meter-table").locator("tr", has_text="#7")).to_contain_text("off")

    assert sim.store.meters[7].relay_on is False
    with organization_context(world_a.org):
        event = AuditEvent.objects.get(action="relay.off")
        assert event.actor == world_a.operator
        assert PollRun.objects.filter(gateway=dead, status="failed").exists()
