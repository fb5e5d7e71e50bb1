"""The tenant portal's money pages: balance, amount due and next due date, invoices with
the ledger's status (partly paid shows what is left), payments, the statement PDF — and
never another tenant's account."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_date
from ledger.models import Account
from ledger.services.payments import payment_record
from tests.conftest import login_client
from tests.tenants.factories_portal import make_portal_tenant

D = Decimal


@pytest.fixture
def two_tenants(world_a, world_b):
    with organization_context(world_a.org):
        a1 = make_portal_tenant(world_a, "KOALA")  # one issued invoice of 14.28
        a2 = make_portal_tenant(world_a, "WOMBAT")
        acc1 = Account.objects.get(tenant=a1.tenant)
        acc2 = Account.objects.get(tenant=a2.tenant)
        today = local_date(timezone.now(), world_a.org)
        payment_record(account=acc1, amount=D("10.00"), received_on=today,
                       reference="KOALA-PAY")
    with organization_context(world_b.org):
        b1 = make_portal_tenant(world_b, "ZEBRATENANT")
        acc_b = Account.objects.get(tenant=b1.tenant)
    return a1, a2, acc1, acc2, acc_b, today


def test_tenant_sees_balance_due_date_partly_paid_invoice_and_payment(two_tenants):
    a1, a2, acc1, acc2, acc_b, today = two_tenants
    client = login_client(a1.user)
    card = client.get("/my/account/card/").content.decode()
    assert 'data-testid="my-amount-due">4.28' in card  # 14.28 - 10.00
    assert "next due" in card
    html = client.get("/my/account/").content.decode()
    assert 'data-testid="left-to-pay"><strong>4.28' in html
    assert "Partially paid" in html and "10.00 paid" in html
    assert "KOALA-PAY" in html and a1.invoice.number in html
    assert "WOMBAT" not in html and "ZEBRA" not in html
    home = client.get("/my/").content.decode()
    assert "/my/account/card/" in home


def test_paid_invoice_moves_to_paid_and_credit_is_shown(two_tenants):
    a1, a2, acc1, acc2, acc_b, today = two_tenants
    with organization_context(acc1.organization):
        payment_record(account=acc1, amount=D("10.00"), received_on=today)
    client = login_client(a1.user)
    html = client.get("/my/account/").content.decode()
    assert "Nothing open" in html and "Paid" in html
    card = client.get("/my/account/card/").content.decode()
    assert "Your credit" in card and "5.72" in card  # 20.00 paid on 14.28


def test_statement_pdf_of_own_account_only(two_tenants):
    a1, a2, acc1, acc2, acc_b, today = two_tenants
    client = login_client(a1.user)
    start = (today - timedelta(days=400)).isoformat()
    own = client.get(f"/my/account/{acc1.public_id}/statement.pdf", {"start": start,
                                                                     "end": today.isoformat()})
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    assert own["Content-Type"] == "application/pdf"
    for other in (acc2, acc_b):
        response = client.get(f"/my/account/{other.public_id}/statement.pdf")
        assert response.status_code == 404


def test_a_member_is_not_a_tenant_and_a_tenant_is_not_a_manager(two_tenants, world_a):
    a1, a2, acc1, *_ = two_tenants
    assert login_client(world_a.manager, world_a.org).get("/my/account/").status_code == 403
    tenant = login_client(a1.user)
    assert tenant.get(f"/ledger/accounts/{acc1.public_id}/").status_code in (302, 403, 404)
    assert tenant.post(f"/ledger/accounts/{acc1.public_id}/payments/new/",
                       {"amount": "1.00"}).status_code in (302, 403, 404)


def test_billings_tenant_invoice_pages_ask_for_what_is_left_after_a_part_payment(two_tenants):
    """The invoice page, the invoice list and the home card (billing's pages) read the open
    amount from the ledger: 14.28 - 10.00 = 4.28, not the invoice total."""
    a1, *_ = two_tenants
    client = login_client(a1.user)
    page = client.get(f"/my/invoices/{a1.invoice.public_id}/").content.decode()
    assert 'data-testid="amount-due-total">4.28' in page
    assert 'data-testid="how-to-pay-amount">4.28' in page
    assert "14.28&nbsp;" not in page.split('data-testid="how-to-pay"')[1].split("</div>")[0]
    listing = client.get("/my/invoices/").content.decode()
    assert "4.28" in listing
    latest = client.get("/my/invoices/latest/").content.decode()
    assert "4.28" in latest and "14.28&nbsp;CHF</strong> due" not in latest


def test_how_to_pay_gives_the_slips_reference_in_groups(two_tenants):
    from billing.models import Invoice

    a1, *_ = two_tenants
    with organization_context(a1.invoice.organization):
        ref = Invoice.objects.get(pk=a1.invoice.pk).payment_reference
    assert ref, "the portal tenant's organization prints slips"
    groups = ref[:2] + " " + " ".join(ref[i:i + 5] for i in range(2, len(ref), 5)) \
        if ref.isdigit() else " ".join(ref[i:i + 4] for i in range(0, len(ref), 4))
    client = login_client(a1.user)
    page = client.get(f"/my/invoices/{a1.invoice.public_id}/").content.decode()
    assert f'data-testid="how-to-pay-reference">{groups}<' in page
    assert "QR code" in page
