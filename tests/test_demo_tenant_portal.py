"""The demo tenant's first login (``manage.py demo``): the tenant portal is not empty. The
seed issues the demo tenant's units a history of invoices, the older ones paid and last
month's due, each with its PDF, so home shows what is due and the list shows paid ones."""

from __future__ import annotations

import io

import pypdfium2
import pytest
import zxingcpp
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from billing.models import Invoice, InvoiceStatus, StatementStatus
from billspree.core.management.commands.demo_seed import DEMO_PASSWORD
from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from ledger.models import BankImport, DunningLevel, Payment
from tenants.demo import DEMO_TENANT_EMAIL
from tenants.models import TenantAccess


@pytest.fixture
def demo(demo_db):
    """The demo as ``manage.py demo_seed`` leaves it, with the PDFs the worker renders
    (seeded once per test process and shared: ``tests/demo_db.py``)."""
    return demo_db


def test_the_demo_tenant_has_issued_and_paid_invoices_with_pdfs(demo):
    access = TenantAccess.objects.unscoped().select_related("tenant", "organization").get(
        email=DEMO_TENANT_EMAIL)
    with organization_context(access.organization):
        invoices = list(Invoice.objects.filter(tenant=access.tenant)
                        .exclude(status=InvoiceStatus.DRAFT).select_related("statement"))
        months = {inv.period_start for inv in invoices}
    states = {inv.status for inv in invoices}
    assert {InvoiceStatus.ISSUED, InvoiceStatus.PAID} <= states, states
    assert len(months) >= 3, "a history of at least three months"
    assert all(inv.statement.status == StatementStatus.READY for inv in invoices)

    client = Client()
    assert client.login(email=DEMO_TENANT_EMAIL, password=DEMO_PASSWORD)
    card = client.get(reverse("my_billing:latest")).content.decode()
    assert "Amount due" in card and "How to pay" in card and "IBAN" in card
    listing = client.get(reverse("my_billing:invoices")).content.decode()
    for inv in invoices:
        assert inv.number in listing
        assert reverse("my_billing:statement", args=[inv.public_id]) in listing
    assert ">Paid<" in listing and ">Due<" in listing
    pdf = client.get(reverse("my_billing:statement", args=[invoices[0].public_id]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"

    call_command("demo_seed", stdout=io.StringIO())  # again: nothing new
    with organization_context(access.organization):
        assert Invoice.objects.filter(tenant=access.tenant).count() == len(invoices)


def test_the_demo_has_money_to_show_and_its_statements_carry_a_payment_slip(demo):
    """A ladder, a payment in part, a bank file with one line left to match, and a QR code
    on the statements (the organizations' bank details are valid)."""
    for org in Organization.objects.order_by("name"):
        with organization_context(org):
            assert DunningLevel.objects.count() == 3
            imp = BankImport.objects.get()
            assert imp.matched_count >= 1 and imp.unmatched_count == 1, org
            assert Payment.objects.filter(note="Demo: paid in part").exists()
            inv = Invoice.objects.exclude(payment_reference="").first()
            assert inv is not None and inv.statement.status == StatementStatus.READY
            with inv.statement.file.open("rb") as f:
                pdf = pypdfium2.PdfDocument(io.BytesIO(f.read()))
            page = pdf[len(pdf) - 1].render(scale=300 / 72).to_pil()
            codes = zxingcpp.read_barcodes(page)
            assert codes, f"no QR code on {inv.number} of {org}"
            assert inv.payment_reference in codes[0].text
