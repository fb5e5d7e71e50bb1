"""Late data and partial credit notes in a real browser: a corrected reading marks the
draft stale (list badge, banner), issuing is refused with the reason, "Recompute…" rebuilds
it; after issue, a partial credit note of an amount is shown for confirmation first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing import services
from billing.models import Invoice
from billspree.core.scoping import organization_context
from readings.models import Source
from readings.parsing import RowIn
from readings.services import reading_ingest
from tests.billing.builders import at, make_house, read
from tests.e2e.conftest import portal_login

pytestmark = pytest.mark.e2e
SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


@pytest.fixture
def draft(world_a):
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
        reading_ingest(rows=[RowIn(0, h.meter.serial_number, at(OCT), Decimal("1442.5"))],
                       source=Source.API, replace=True)
    return Invoice.objects.unscoped().get(pk=inv.pk)


def test_stale_draft_refused_recomputed_issued_then_partly_credited(page, world_a, draft):
    portal_login(page, world_a.manager.email)
    page.goto("/billing/")
    expect(page.locator(".badge.stale")).to_contain_text("stale — recompute")
    page.goto(f"/billing/invoices/{draft.public_id}/")
    expect(page.locator(".stale-notice")).to_contain_text("+42.5 kWh")
    page.get_by_role("link", name="Issue…").click()
    page.get_by_role("button", name="Issue").click()
    expect(page.locator(".flash-error")).to_contain_text("Recompute before issuing")
    page.locator(".stale-notice").get_by_role("link", name="Recompute…").click()
    page.get_by_role("button", name="Recompute").click()
    # 9.90 + 342.5 kWh × 0.30 = 102.75 → net 112.65, VAT 1.88 + 19.52 → 134.05
    expect(page.locator(".flash-success")).to_contain_text("Draft recomputed: total 134.05 EUR")
    expect(page.locator(".stale-notice")).to_have_count(0)
    page.get_by_role("link", name="Issue…").click()
    page.get_by_role("button", name="Issue").click()
    expect(page.get_by_role("heading", name="Invoice INV-000001")).to_be_visible()

    page.get_by_role("link", name="Credit note…").click()
    page.get_by_label("Reason").fill("Goodwill")
    page.get_by_label("An amount, net").check()
    page.get_by_label("Net amount").fill("2.00")
    page.get_by_role("button", name="Issue credit note…").click()
    expect(page.get_by_test_id("credit-preview")).to_contain_text("-2.38")
    page.get_by_role("button", name="Issue this credit note").click()
    expect(page.locator(".flash-success")).to_contain_text("stays issued")
    expect(page.get_by_role("heading", name="Invoice INV-000001")).to_be_visible()
