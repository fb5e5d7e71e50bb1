"""Billing's documents on the ledger, in the transaction that issues them.

Connected to :data:`billspree.core.ledger_hooks.documents_issued` (``ledger.apps``). A bill
run issues thousands of invoices at once, so this reads what it needs in two queries,
opens missing accounts in one statement and posts in one :func:`post` — set-based, like
the run itself. The entry's day is the issue day where the property is; the due day adds
the organization's payment terms (as the statement prints it).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from billing.models import CreditNote, Invoice, InvoiceStatus
from billspree.core.scoping import require_organization
from billspree.core.timefmt import local_date
from ledger.models import EntryKind, LedgerEntry
from ledger.models.payments import PaymentMethod
from ledger.selectors.invoices import invoice_open_amount
from ledger.services.accounts import accounts_for
from ledger.services.allocations import allocate
from ledger.services.payments import payment_record
from ledger.services.posting import Posting, post

ZERO = Decimal("0")


def on_documents_issued(*, invoices=(), credit_notes=(), actor=None, **kwargs) -> None:
    post_documents(invoice_ids=[i.pk for i in invoices],
                   credit_note_ids=[c.pk for c in credit_notes], actor=actor)


def post_documents(*, invoice_ids: list[int], credit_note_ids: list[int], actor=None) -> int:
    """Post the issued invoices and credit notes (again: nothing happens); the number of
    entries written."""
    org = require_organization()
    terms = timedelta(days=org.payment_terms_days)
    user_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) \
        and not getattr(actor, "api_key", None) else None
    # issued ones (void with a number: issued, then cancelled by a credit note — backfill)
    invoices = list(Invoice.objects.filter(
        pk__in=invoice_ids,
        status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.VOID],
    ).exclude(number="").exclude(total=0).values_list(
        "pk", "tenant_id", "currency", "total", "issued_at", "number",
        "billing_point__property__time_zone").order_by("issued_at", "number"))
    notes = list(CreditNote.objects.filter(pk__in=credit_note_ids).values_list(
        "pk", "invoice__tenant_id", "currency", "total", "issued_at", "number", "invoice_id",
        "invoice__number", "invoice__billing_point__property__time_zone").order_by("pk"))
    accounts = accounts_for([(i[1], str(i[2])) for i in invoices]
                            + [(n[1], str(n[2])) for n in notes])
    postings = []
    for pk, tenant, currency, total, issued_at, number, tz in invoices:
        day = local_date(issued_at, tz or org.time_zone)
        postings.append(Posting(
            account_id=accounts[(tenant, str(currency))], kind=EntryKind.INVOICE,
            amount=total, booked_on=day, due_on=day + terms, invoice_id=pk,
            description=f"Invoice {number}", created_by_id=user_id))
    for pk, tenant, currency, total, issued_at, number, _, inv_number, tz in notes:
        if total == ZERO:
            continue
        postings.append(Posting(
            account_id=accounts[(tenant, str(currency))], kind=EntryKind.CREDIT_NOTE,
            amount=total, booked_on=local_date(issued_at, tz or org.time_zone),
            credit_note_id=pk, description=f"Credit note {number} for invoice {inv_number}",
            created_by_id=user_id))
    posted = post(postings)
    # a credit note pays its own invoice first; what is left is credit like any other
    credited = {n[0]: n[6] for n in notes}
    invoice_entry = dict(LedgerEntry.objects.filter(
        kind=EntryKind.INVOICE, invoice_id__in=set(credited.values()),
    ).values_list("invoice_id", "pk")) if credited else {}
    directives = {}
    for p, done in zip(postings, posted, strict=True):
        if p.credit_note_id and done.created and credited[p.credit_note_id] in invoice_entry:
            directives[done.entry_id] = [(invoice_entry[credited[p.credit_note_id]], None)]
    if any(d.created for d in posted):
        allocate({p.account_id for p in postings}, directives)
    return sum(1 for d in posted if d.created)


def on_settle_requested(*, invoice, actor=None, api_key=None, **kwargs) -> None:
    """"Mark paid": a payment of what is still open on the invoice, today, allocated to
    it — so the status follows the money and the account shows who paid what."""
    open_amount, account = invoice_open_amount(invoice)
    if account is None or open_amount <= ZERO:
        return
    payment_record(
        account=account, amount=open_amount,
        received_on=local_date(timezone.now(), invoice.organization),
        method=PaymentMethod.OTHER, reference=invoice.number,
        note=f"Marked paid: invoice {invoice.number}", invoices=[(invoice.pk, open_amount)],
        actor=actor, api_key=api_key,
    )
