"""Bring documents issued before the ledger existed onto it (upgrade path).

Invoices and credit notes issued before this app was installed have no entries, so their
tenants' balances would read 0. This posts them (set-based, idempotent: running it again
posts nothing) and records a payment for each invoice that was marked paid then, dated the
day it was marked, so its paid status keeps following the ledger.
"""

from __future__ import annotations

from django.db import transaction

from billing.models import CreditNote, Invoice, InvoiceStatus
from billspree.core.timefmt import local_date
from ledger.models import EntryKind, LedgerEntry, PaymentMethod
from ledger.selectors.invoices import invoice_open_amount
from ledger.services.payments import PaymentIn, payments_record
from ledger.services.postings_from_billing import post_documents


@transaction.atomic
def ledger_backfill() -> dict[str, int]:
    """For the organization in context; counts of what it posted."""
    posted_invoices = LedgerEntry.objects.filter(kind=EntryKind.INVOICE).values("invoice_id")
    posted_notes = LedgerEntry.objects.filter(kind=EntryKind.CREDIT_NOTE).values(
        "credit_note_id")
    invoices = list(Invoice.objects.filter(
        status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.VOID],
    ).exclude(number="").exclude(pk__in=posted_invoices).values_list("pk", flat=True))
    notes = list(CreditNote.objects.exclude(pk__in=posted_notes).values_list("pk", flat=True))
    # void-by-credit-note invoices were issued too: post them with their credit notes
    entries = post_documents(invoice_ids=invoices, credit_note_ids=notes)
    paid_before = Invoice.objects.filter(pk__in=invoices, status=InvoiceStatus.PAID) \
        .select_related("billing_point__property", "organization")
    items = []
    for inv in paid_before:
        left, account = invoice_open_amount(inv)
        if account is not None and left > 0:
            items.append(PaymentIn(
                account=account, amount=left, method=PaymentMethod.OTHER,
                received_on=local_date(inv.paid_at or inv.issued_at, inv.organization),
                reference=inv.number, note=f"Marked paid before the ledger: {inv.number}",
                idempotency_key=f"backfill-paid:{inv.public_id}",
                invoices=[(inv.pk, left)]))
    payments_record(items, source="backfill")
    return {"invoices": len(invoices), "credit_notes": len(notes), "entries": entries,
            "payments": len(items)}
