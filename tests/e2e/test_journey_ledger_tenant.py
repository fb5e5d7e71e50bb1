"""The tenant's side of issue 17 in real Chromium: the portal shows the balance, what is due
and by when; the statement of account downloads; the invoice's PDF carries a Swiss QR-bill
whose payload (QR-IBAN, amount, QR reference) is the invoice's. The tenant pays from that
QR code — a bank file with exactly what the code says — and the portal shows the invoice
paid. Another tenant's account, statement and invoice answer 404.

Numbers are computed by hand from the world below; the pages run on the real today."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from billing.models import InvoiceStatement, StatementStatus
from billspree.core.scoping import organization_context
from ledger.models import Account
from ledger.services.bank_imports import bank_import_create
from ledger.services.payments import payment_record
from tenants import services as tenant_services
from tests.billing.builders import make_house
from tests.e2e.conftest import portal_login
from tests.e2e.ledger_world import (
    QR_IBAN,
    TENANT_ADDRESS,
    Tx,
    camt054,
    day_long,
    day_short,
    download,
    issued_due,
    money,
    pdf_text,
    qr_codes,
    swiss,
    today,
)
from tests.ledger.builders import issued
from tests.tenants.factories_portal import portal_login as give_portal_login

pytestmark = pytest.mark.e2e
D = Decimal
EMAIL = "tina@example.test"


@pytest.fixture
def tenant_world(world_a):
    """Tina owes an old invoice of 70.00, due 3 days ago, of which she paid 30.00
    yesterday, and this month's 180.00, issued today through billing (its PDF statement
    with the QR-bill is rendered when the issue commits), due in 14 days. A neighbour
    (another house of the same organization) has an invoice and an account of his own."""
    swiss(world_a.org)
    with organization_context(world_a.org):
        t = today()
        home = make_house(currency="CHF", tenant_email=EMAIL)
        tina = tenant_services.tenant_update(tenant=home.tenant, **TENANT_ADDRESS)
        old = issued_due(tina, home.bp, "70.00", due_on=t - timedelta(days=3))
        account = Account.objects.get(tenant=tina, currency="CHF")
        payment_record(account=account, amount=D("30.00"), received_on=t - timedelta(days=1),
                       reference="Teilzahlung", invoices=[(old.pk, None)])
        new = issued(tina, home.bp, "180.00", currency="CHF")
        statement = InvoiceStatement.objects.get(invoice=new)
        assert statement.status == StatementStatus.READY  # rendered on commit
        give_portal_login(tina, EMAIL, world_a.admin)
        neighbour = make_house(currency="CHF", tenant_email="ned@example.test")
        theirs = issued_due(neighbour.tenant, neighbour.bp, "55.00", due_on=t)
        their_account = Account.objects.get(tenant=neighbour.tenant, currency="CHF")
    return (world_a, t, tina, account, old, new, theirs, their_account,
            neighbour.tenant.name)


def test_tenant_sees_the_balance_pays_from_the_qr_code_and_not_anothers_account(
        browser, live_server, tenant_world):
    w, t, tina, account, old, new, theirs, their_account, neighbour_name = tenant_world
    # by hand
    balance = D("70.00") + D("180.00") - D("30.00")
    overdue = D("70.00") - D("30.00")  # the old one was due 3 days ago
    next_due = t + timedelta(days=14)   # the new one: issued today, 14 days to pay
    assert (balance, overdue) == (D("220.00"), D("40.00"))

    context = browser.new_context(base_url=live_server.url, accept_downloads=True,
                                  viewport={"width": 1024, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        portal_login(page, EMAIL)
        page.wait_for_url("**/my/")
        card = page.get_by_test_id("my-account-card")  # loaded by htmx
        expect(card.get_by_test_id("my-amount-due")).to_have_text(f"{money(balance)}\xa0CHF")
        expect(card).to_contain_text("Overdue — please pay now")
        expect(card.get_by_test_id("my-overdue")).to_have_text(f"{money(overdue)}\xa0CHF")
        expect(card.get_by_test_id("my-next-due")).to_have_text(day_long(next_due))

        card.get_by_role("link", name="Balance, payments and statement of account").click()
        page.wait_for_url("**/my/account/")
        expect(page.get_by_test_id("my-amount-due")).to_have_text(f"{money(balance)}\xa0CHF")
        rows = page.get_by_test_id("my-open-invoices").locator("tbody tr")
        expect(rows).to_have_count(2)
        # newest first: invoice, period, total, left to pay, due, status
        for row, (inv, total, left, due, state) in zip(rows.all(), [
                (new, "180.00", "180.00", next_due, "Open"),
                (old, "70.00", "40.00", t - timedelta(days=3), "Overdue (part paid) 30.00 paid")],
                strict=True):
            cells = row.locator("td")
            expect(cells.nth(0)).to_have_text(inv.number)
            expect(cells.nth(2)).to_have_text(f"{total} CHF")
            expect(cells.nth(3)).to_have_text(left)
            expect(cells.nth(4)).to_have_text(day_short(due))
            expect(cells.nth(5)).to_have_text(state)
        expect(page.get_by_test_id("my-payments")).to_contain_text(f"{old.number} 30.00")

        # the statement of account (1 January to today): closing balance 220.00
        with page.expect_download() as got:
            page.get_by_test_id("my-statement").get_by_role("button",
                                                             name="Download PDF").click()
        text = pdf_text(Path(got.value.path()).read_bytes())
        assert f"balance on {day_short(t)} {money(balance)} chf".lower() in text.lower()
        assert f"Closing balance (owed) {money(balance)} CHF" in text
        assert (f"Opening balance 0.00 + charges {money(D('250.00'))} − payments and credits "
                f"30.00 = closing balance {money(balance)} CHF") in text

        # this month's invoice and its PDF with the QR-bill
        rows.first.get_by_role("link", name=new.number).click()
        page.wait_for_url(f"**/my/invoices/{new.public_id}/")
        expect(page.get_by_test_id("amount-due-total")).to_have_text("180.00\xa0CHF")
        expect(page.get_by_test_id("due-date")).to_have_text(day_long(next_due))
        link = page.get_by_role("link", name="Download statement (PDF)")
        pdf = download(page, link.get_attribute("href"))
        [code] = qr_codes(pdf)
        lines = code.splitlines()
        assert lines[:4] == ["SPC", "0200", "1", QR_IBAN]
        assert lines[18:20] == ["180.00", "CHF"]
        assert lines[20:27] == ["S", tina.name, "Dorfweg", "3a", "3000", "Bern", "CH"]
        assert lines[27:29] == ["QRR", new.payment_reference]

        # Tina pays exactly what the code says; the manager's bank file brings it in
        with organization_context(w.org):
            imp = bank_import_create(data=camt054(t, [
                Tx("QR-1", lines[18], tina.name, lines[28])]), filename="camt054.xml")
            assert (imp.matched_count, imp.unmatched_count) == (1, 0)
        page.goto("/my/account/")
        left = balance - D("180.00")
        expect(page.get_by_test_id("my-amount-due")).to_have_text(f"{money(left)}\xa0CHF")
        expect(page.get_by_test_id("my-overdue")).to_have_text(f"{money(overdue)}\xa0CHF")
        expect(page.get_by_test_id("my-next-due")).to_have_count(0)  # nothing due later
        expect(page.get_by_test_id("my-open-invoices").locator("tbody tr")).to_have_count(1)
        expect(page.get_by_test_id("my-paid-invoices")).to_contain_text(new.number)
        expect(page.get_by_test_id("my-paid-invoices")).to_contain_text("Paid")
        expect(page.get_by_test_id("my-payments")).to_contain_text(f"{new.number} 180.00")

        # another tenant's account, statement and invoice: not found, like a random id
        for url in (f"/my/account/{their_account.public_id}/statement.pdf",
                    f"/my/invoices/{theirs.public_id}/",
                    f"/my/invoices/{theirs.public_id}/statement.pdf"):
            assert page.request.get(url).status == 404, url
        # nor the staff's account page: a tenant is no member of the organization
        page.goto(f"/ledger/accounts/{their_account.public_id}/")
        assert "/ledger/" not in page.url, page.url
        expect(page.locator("body")).not_to_contain_text(neighbour_name)
    finally:
        context.close()
