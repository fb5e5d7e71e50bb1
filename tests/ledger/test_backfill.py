"""Upgrading: documents issued before the ledger existed are posted once, paid ones paid."""

from __future__ import annotations

from decimal import Decimal

from billing import services as billing
from billing.models import InvoiceStatus
from billspree.core.ledger_hooks import documents_issued, invoice_settle_requested
from ledger.models import EntryKind, LedgerEntry
from ledger.services.accounts import account_for_tenant
from ledger.services.backfill import ledger_backfill
from ledger.services.postings_from_billing import on_documents_issued, on_settle_requested
from tests.billing.builders import make_house
from tests.ledger.builders import issued

D = Decimal


def test_backfill_posts_old_documents_once_and_keeps_paid_invoices_paid(in_org_a):
    house = make_house()
    account = account_for_tenant(house.tenant, "EUR")
    start = account.balance
    documents_issued.disconnect(dispatch_uid="ledger.documents_issued")
    invoice_settle_requested.disconnect(dispatch_uid="ledger.settle")
    try:  # the world before the ledger app
        open_one = issued(house.tenant, house.bp, "100.00")
        paid_one = billing.invoice_mark_paid(invoice=issued(house.tenant, house.bp, "40.00"))
        credited = issued(house.tenant, house.bp, "30.00")
        billing.credit_note_create(invoice=credited, reason="Wrong reading")
    finally:
        documents_issued.connect(on_documents_issued, dispatch_uid="ledger.documents_issued")
        invoice_settle_requested.connect(on_settle_requested, dispatch_uid="ledger.settle")
    assert not LedgerEntry.objects.filter(account=account).exclude(balance_after=start).exists()
    counts = ledger_backfill()
    assert counts["invoices"] == 3 and counts["credit_notes"] == 1 and counts["payments"] == 1
    account.refresh_from_db()
    assert account.balance == start + D("100.00")  # 40 paid, 30 credited
    paid_one.refresh_from_db()
    assert paid_one.status == InvoiceStatus.PAID
    open_one.refresh_from_db()
    assert open_one.status == InvoiceStatus.ISSUED
    n = LedgerEntry.objects.count()
    assert ledger_backfill() == {"invoices": 0, "credit_notes": 0, "entries": 0, "payments": 0}
    assert LedgerEntry.objects.count() == n
    assert LedgerEntry.objects.filter(kind=EntryKind.INVOICE, invoice=credited).exists()
