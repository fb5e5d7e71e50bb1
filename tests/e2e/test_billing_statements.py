"""In a real browser: a manager issues an invoice, its statement panel turns "Ready", the
PDF downloads (named after the invoice number, holding the total), "Send…" asks for
confirmation and the delivery shows as sent; the building statement is prepared from the
portal and downloaded."""

from __future__ import annotations

import os
from datetime import date

import pytest
from django.core import mail
from playwright.sync_api import expect
from pypdf import PdfReader

from billing import services
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.billing.test_statements import has
from tests.e2e.conftest import portal_login

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "statements"), "base_url": None}}}


@pytest.fixture
def draft(world_a):
    with organization_context(world_a.org):
        h = make_house()
        read(h.meter, (at(date(2026, 9, 1)), "1100"), (at(date(2026, 10, 1)), "1400"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription],
                                              start=date(2026, 9, 1), end=date(2026, 10, 1))
    return h, inv


def issue_in_the_portal(page, world, inv):
    """Log in as the manager, issue ``inv`` from its page and wait for its statement;
    returns the statement panel."""
    portal_login(page, world.manager.email)
    page.goto(f"/billing/invoices/{inv.public_id}/")
    page.get_by_role("link", name="Issue…").click()
    page.get_by_role("button", name="Issue").click()
    panel = page.get_by_test_id("statement-panel")
    expect(panel.get_by_test_id("statement-status")).to_have_text("Ready")
    return panel


def test_issue_download_and_send_the_statement(page, world_a, draft):
    house, inv = draft
    panel = issue_in_the_portal(page, world_a, inv)
    with page.expect_download() as info:
        panel.get_by_test_id("statement-download").click()
    download = info.value
    assert download.suggested_filename == "invoice-INV-000001.pdf"
    text = "".join(p.extract_text() for p in PdfReader(download.path()).pages)
    assert has(text, "INV-000001") and has(text, "Total due 95.08 EUR")
    panel.get_by_test_id("statement-send").click()
    expect(page.get_by_text("tenant@example.com, with the PDF attached")).to_be_visible()
    page.get_by_role("button", name="Send statement").click()
    expect(page.get_by_text("The statement is being sent to tenant@example.com")).to_be_visible()
    deliveries = page.get_by_test_id("deliveries")
    expect(deliveries).to_contain_text("Sent")
    expect(deliveries).to_contain_text("tenant@example.com")
    expect(panel.get_by_test_id("statement-send")).to_have_text("Resend…")
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments[0][2] == "application/pdf"
    if os.environ.get("STATEMENT_PNG_DIR"):
        page.screenshot(path=f"{os.environ['STATEMENT_PNG_DIR']}/portal-invoice.png",
                        full_page=True)


def test_prepare_and_download_a_building_statement(page, world_a, draft):
    house, inv = draft
    with organization_context(world_a.org):
        services.invoice_issue(invoice=inv)
    portal_login(page, world_a.manager.email)
    page.goto("/billing/")
    page.get_by_role("link", name="Building statements").click()
    expect(page.get_by_text("No statements yet")).to_be_visible()
    form = page.get_by_test_id("building-statement-form")
    form.get_by_label("Property").select_option(label=house.prop.name)
    form.get_by_label("From").fill("2026-09-01")
    form.get_by_label("Until (exclusive)").fill("2026-10-01")
    form.get_by_role("button", name="Prepare statement").click()
    rows = page.get_by_test_id("building-statements")
    expect(rows).to_contain_text(house.prop.name)
    expect(rows).to_contain_text("Ready")
    with page.expect_download() as info:
        rows.get_by_role("link", name="Download PDF").click()
    assert info.value.suggested_filename.startswith("building-charges-")
    if os.environ.get("STATEMENT_PNG_DIR"):
        page.screenshot(path=f"{os.environ['STATEMENT_PNG_DIR']}/portal-buildings.png",
                        full_page=True)
    text = "".join(p.extract_text() for p in PdfReader(info.value.path()).pages)
    assert has(text, "Statement of building charges") and has(text, "95.08")


def test_credit_an_emailed_invoice_and_the_tenant_gets_the_credit_note(page, world_a, draft):
    """Issue and send, then credit: the credit note's page lists the email that went to
    the tenant by itself, and its PDF downloads as stored."""
    house, inv = draft
    panel = issue_in_the_portal(page, world_a, inv)
    panel.get_by_test_id("statement-send").click()
    page.get_by_role("button", name="Send statement").click()
    expect(page.get_by_text("The statement is being sent to tenant@example.com")).to_be_visible()

    page.get_by_role("link", name="Credit note…").click()
    page.get_by_label("Reason").fill("Meter read twice")
    page.get_by_role("button", name="Issue credit note").click()
    expect(page.get_by_text("It is being emailed to tenant@example.com")).to_be_visible()
    page.get_by_role("link", name="CN-000001").first.click()
    deliveries = page.get_by_test_id("credit-note-deliveries")
    expect(deliveries.get_by_text("tenant@example.com")).to_be_visible()
    expect(deliveries.get_by_text("Sent", exact=True)).to_be_visible()
    expect(page.get_by_test_id("credit-note-send")).to_have_text("Email again…")
    if os.environ.get("E2E_SHOTS"):
        page.screenshot(path=os.path.join(os.environ["E2E_SHOTS"], "credit_note.png"),
                        full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == "credit-note-CN-000001.pdf"
    text = "".join(p.extract_text() for p in PdfReader(download.path()).pages)
    assert has(text, "CN-000001") and has(text, "Meter read twice")
    subjects = [m.subject for m in mail.outbox]
    assert any(s.startswith("Credit note CN-000001 for your invoice INV-000001") for s in subjects)
