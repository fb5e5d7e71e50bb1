"""A company's shops billed on one summary: its total is the children's invoices to the
cent, each child's statement attached; children's credit stays theirs."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from pypdf import PdfReader

from billspree.core.errors import Conflict
from billspree.core.timefmt import local_date
from ledger.models import ParentSummaryItem
from ledger.selectors.summaries import summary_pdf
from ledger.services.accounts import account_for_tenant, account_set_parent
from ledger.services.payments import payment_record
from ledger.services.summaries import parent_summaries_create
from tenants import services as tenant_services
from tests.billing.builders import make_house
from tests.ledger.builders import issued

D = Decimal


@pytest.fixture
def company(in_org_a):
    shop_a, shop_b = make_house(), make_house()
    parent_tenant = tenant_services.tenant_create(name="Retail Group AG")
    parent = account_for_tenant(parent_tenant, "EUR")
    for shop in (shop_a, shop_b):
        account_set_parent(account=account_for_tenant(shop.tenant, "EUR"), parent=parent)
    return in_org_a, parent, shop_a, shop_b


def test_summary_total_is_the_sum_of_the_children_invoices_to_the_cent(company):
    w, parent, shop_a, shop_b = company
    invs = [issued(shop_a.tenant, shop_a.bp, "123.45"), issued(shop_a.tenant, shop_a.bp, "0.05"),
            issued(shop_b.tenant, shop_b.bp, "876.50")]
    today = local_date(timezone.now(), w.org)
    [summary] = parent_summaries_create(first_day=today, last_day=today)
    assert summary.total == D("1000.00")
    assert set(summary.items.values_list("invoice_id", flat=True)) == {i.pk for i in invs}
    # again: nothing new, nothing twice
    [again] = parent_summaries_create(first_day=today, last_day=today)
    assert again.pk == summary.pk and again.items.count() == 3 and again.total == D("1000.00")
    later = issued(shop_b.tenant, shop_b.bp, "10.00")
    [grown] = parent_summaries_create(first_day=today, last_day=today)
    assert grown.total == D("1010.00")
    assert ParentSummaryItem.objects.filter(invoice=later).count() == 1
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(summary_pdf(grown))).pages)
    assert "1,010.00" in text
    for inv in [*invs, later]:
        assert inv.number in text  # each child's statement is attached
    assert len(PdfReader(io.BytesIO(summary_pdf(grown))).pages) >= 5


def test_the_database_refuses_a_total_that_is_not_the_sum(company):
    w, parent, shop_a, _ = company
    issued(shop_a.tenant, shop_a.bp, "50.00")
    today = local_date(timezone.now(), w.org)
    [summary] = parent_summaries_create(first_day=today, last_day=today)
    with (pytest.raises(IntegrityError, match="not the sum"), transaction.atomic(),
          connection.cursor() as cur):
        cur.execute("UPDATE ledger_parentsummary SET total = total + 0.01 WHERE id = %s",
                    [summary.pk])
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_child_credit_stays_on_the_child_and_unparenting_with_a_balance_is_refused(company):
    w, parent, shop_a, shop_b = company
    child = account_for_tenant(shop_a.tenant, "EUR")
    payment_record(account=child, amount=D("40.00"),
                   received_on=local_date(timezone.now(), w.org))
    parent.refresh_from_db()
    child.refresh_from_db()
    assert parent.balance == D("0") and child.balance < 0
    with pytest.raises(Conflict, match="settle it"):
        account_set_parent(account=child, parent=None)


def test_the_summary_pdf_prints_its_reference_and_a_slip_for_what_is_open(company):
    from billspree.core.models import Organization
    from billspree.core.payment_refs import grouped_reference

    w, parent, shop_a, shop_b = company
    issued(shop_a.tenant, shop_a.bp, "60.00")
    issued(shop_b.tenant, shop_b.bp, "40.00")
    today = local_date(timezone.now(), w.org)
    [summary] = parent_summaries_create(first_day=today, last_day=today)

    def first_page() -> str:
        return PdfReader(io.BytesIO(summary_pdf(summary))).pages[0].extract_text()

    text = first_page()  # no IBAN: the reference, no slip
    assert grouped_reference(summary.payment_reference) in text
    assert "PAY BY BANK APP" not in text.upper() and "100.00" in text
    Organization.objects.filter(pk=w.org.pk).update(iban="DE89370400440532013000")
    w.org.refresh_from_db()
    summary.organization.refresh_from_db()
    payment_record(account=account_for_tenant(shop_a.tenant, "EUR"), amount=D("60.00"),
                   received_on=today)
    text = first_page()
    assert "PAY BY BANK APP" in text.upper()  # EPC QR code for the 40.00 still open
    assert "Please pay 40.00 EUR" in text
