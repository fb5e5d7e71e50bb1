"""The tenant's journey on a phone (390 px wide), in real Chromium: home says what is due,
by when and how to pay; the invoice explains the meter multiplier and downloads its PDF;
the consumption page shows the meters. Nothing on the way is wider than the screen (no
amount is cut off), and tables read as labelled cards."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from billing import services
from billspree.core.scoping import organization_context
from meters.models import Meter
from tests.billing.builders import at, make_house, read
from tests.e2e.conftest import ARTIFACTS, portal_login
from tests.tenants.factories_portal import portal_login as give_portal_login

pytestmark = pytest.mark.e2e

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def tenant_with_bills(world_a):
    org = world_a.org
    org.payment_details = "Alpha Test Bank\nIBAN: DE00 1111 2222 3333 4444 55"
    org.save()
    with organization_context(org):
        h = make_house(flat="0.25", initial="9000", tenant_email="phone@example.test")
        Meter.objects.filter(pk=h.meter.pk).update(multiplier=20)
        read(h.meter, (at(OCT), "9700"), (at(NOV), "9744.64"), (at(DEC), "10045.05"))
        [october] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT,
                                                  end=NOV)
        [november] = services.invoice_create_draft(subscriptions=[h.subscription], start=NOV,
                                                   end=DEC)
        services.invoice_mark_paid(invoice=services.invoice_issue(invoice=october))
        november = services.invoice_issue(invoice=november)
        give_portal_login(h.tenant, "phone@example.test", world_a.admin)
    return h, november


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a {PHONE['width']} px phone"


def test_tenant_on_a_phone_home_invoice_pdf_consumption(browser, live_server, tenant_with_bills):
    h, november = tenant_with_bills
    context = browser.new_context(base_url=live_server.url, viewport=PHONE,
                                  is_mobile=True, has_touch=True, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        portal_login(page, "phone@example.test")
        page.goto("/my/")
        due = page.get_by_test_id("amount-due")
        expect(due).to_contain_text("Amount due")
        expect(due.get_by_test_id("amount-due-total")).to_contain_text(
            f"{november.total:,.2f}")
        expect(due.get_by_test_id("how-to-pay")).to_contain_text("IBAN: DE00 1111")
        expect(page.get_by_test_id("latest-invoices")).to_contain_text("Paid")
        _fits(page)
        page.screenshot(path=str(_shot("home")), full_page=True)

        page.get_by_test_id("amount-due").get_by_role(
            "link", name=f"Invoice {november.number}").click()
        page.wait_for_url(f"**/my/invoices/{november.public_id}/")
        expect(page.get_by_test_id("payment-state")).to_have_text("Due")
        expect(page.get_by_test_id("meter-readings")).to_contain_text(
            "register 9,744.64 → 10,045.05 × 20 = 6,008.2 kWh")
        total = page.get_by_test_id("invoice-total")
        total.scroll_into_view_if_needed()
        box = total.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box  # not cut
        _fits(page)
        page.screenshot(path=str(_shot("invoice")), full_page=True)

        with page.expect_download() as download:
            page.get_by_role("link", name="Download statement (PDF)").click()
        pdf = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
        text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())
        assert november.number in text

        page.get_by_label("Menu").click()  # the phone's menu (☰)
        page.get_by_role("link", name="Consumption").click()
        page.wait_for_url("**/my/consumption/")
        expect(page.get_by_test_id("meter-chart").first).to_contain_text(h.meter.serial_number)
        _fits(page)
        page.screenshot(path=str(_shot("consumption")), full_page=True)
    finally:
        context.close()


def _shot(name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"journey-tenant-{name}-390.png"
