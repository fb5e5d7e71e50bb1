"""The tenant portal in a real browser: a manager invites a tenant from the tenant's page,
the tenant opens the emailed link, sets a password, logs in, sees their invoice, downloads
the PDF statement, and gets a 404 page for another tenant's invoice."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect
from pypdf import PdfReader

from billspree.core.scoping import organization_context
from tenants import services
from tests.e2e.conftest import portal_login
from tests.tenants.factories_portal import (
    at,
    issued_invoice_with_statement,
    make_home,
    make_portal_tenant,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def homes(world_a):
    with organization_context(world_a.org):
        other = make_portal_tenant(world_a, "WOMBAT")
        bp, meter = make_home("TESSA")
        tessa = services.tenant_create(name="Tessa Tenant", email="tessa@example.test")
        services.occupancy_create(tenant=tessa, billing_point=bp, move_in=at(2025, 1))
        mine = issued_invoice_with_statement(tessa, bp, meter, "Tessa", month=1)
    return tessa, mine, other


def _wait_for_mail(page, to: str):
    for _ in range(50):
        found = [m for m in mail.outbox if m.to == [to]]
        if found:
            return found[-1]
        page.wait_for_timeout(100)
    raise AssertionError(f"no invitation email to {to}")


def test_invite_accept_login_invoice_pdf_and_no_other_tenant(page, browser, live_server,
                                                              world_a, homes):
    tessa, mine, other = homes
    portal_login(page, world_a.manager.email)
    page.goto(f"/tenants/{tessa.public_id}/")
    panel = page.get_by_test_id("portal-access")
    expect(panel.get_by_label("Email")).to_have_value("tessa@example.test")
    page.once("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="Invite to portal").click()
    expect(page.get_by_text("Portal invitation sent to tessa@example.test")).to_be_visible()
    expect(panel).to_contain_text("invited")
    body = _wait_for_mail(page, "tessa@example.test").body
    link = re.search(r"https?://[^/\s]+(/my/invite/\S+/)", body).group(1)

    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 800},
                                  accept_downloads=True)
    tenant = context.new_page()
    tenant.set_default_timeout(15_000)
    try:
        tenant.goto(link)
        tenant.get_by_label("First name").fill("Tessa")
        tenant.get_by_label("Password").fill("a-long-safe-pass-42")
        tenant.get_by_role("button", name="Set password and open my portal").click()
        tenant.wait_for_url("**/my/")
        expect(tenant.get_by_role("heading", name="Hello, Tessa Tenant")).to_be_visible()
        # log out and in again through the ordinary login page: it lands on /my/
        tenant.get_by_label("Menu").click()
        tenant.get_by_role("button", name="Log out").click()
        portal_login(tenant, "tessa@example.test", "a-long-safe-pass-42")
        tenant.wait_for_url("**/my/")
        expect(tenant.get_by_test_id("latest-invoices")).to_contain_text(mine.number)
        tenant.get_by_label("Menu").click()
        tenant.get_by_role("navigation").get_by_role("link", name="Invoices", exact=True).click()
        tenant.get_by_role("link", name=mine.number).click()
        expect(tenant.get_by_test_id("invoice-total")).to_contain_text("14.28 EUR")
        with tenant.expect_download() as info:
            tenant.get_by_role("link", name="Download statement (PDF)").click()
        download = info.value
        assert download.suggested_filename == f"statement-{mine.number}.pdf"
        with open(download.path(), "rb") as pdf:
            assert pdf.read(4) == b"%PDF"
        text = "".join(p.extract_text() for p in PdfReader(download.path()).pages)
        assert mine.number in text and "14.28" in text, text[:500]
        response = tenant.goto(f"/my/invoices/{other.invoice.public_id}/")
        assert response.status == 404
        assert "WOMBAT" not in tenant.content()
        response = tenant.goto("/tenants/")  # a manager page: sent back to the portal
        assert tenant.url.endswith("/my/")
    finally:
        context.close()
