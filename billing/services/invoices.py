"""State changes of billing documents."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from billing import engine
from billing.engine import Preview
from billing.models import (
    DocumentKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Subscription,
)
from billing.services.invoice_rows import release, retotal, write_drafts
from billing.services.numbering import document_number_claim, invoice_payment_reference
from billspree.core.errors import Conflict
from billspree.core.ledger_hooks import announce_issued, invoice_settle_requested
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from tariffs import pricing

# --- preview and drafts ---------------------------------------------------------------------


def check_period(start: date, end: date) -> None:
    if end <= start:
        raise ValidationError({"end": [f"The end ({end}) must be after the start ({start})."]})
    if (end - start).days > 366:
        raise ValidationError({"end": ["A billing period is at most a year long."]})


def invoice_preview(*, subscriptions: list[Subscription], start: date, end: date) -> Preview:
    """The dry run: the invoices that would be created and what is wrong with them."""
    check_period(start, end)
    if not subscriptions:
        raise ValidationError({"subscription": ["No subscription is in effect in the period."]})
    return engine.compute(subscriptions=subscriptions, start=start, end=end)


# (the rows of drafts are written by invoice_rows.write_drafts, three COPYs per batch)


def invoice_create_draft(
    *, subscriptions: list[Subscription], start: date, end: date, actor=None, api_key=None,
) -> list[Invoice]:
    """Draft invoices for every billable tenant of ``subscriptions`` over ``[start, end)``.

    Idempotent: a tenant already invoiced for the period gets nothing new; consumption
    already on another invoice is left out (and a concurrent run loses on the database's
    billed-at-most-once constraint: it is told so and nothing of it is kept).
    """
    preview = invoice_preview(subscriptions=subscriptions, start=start, end=end)
    billable = [d for d in preview.invoices if d.can_bill]
    if not billable:
        reasons = [d.message for inv in preview.invoices for d in inv.diagnostics
                   if d.severity == "error"] + [d.message for d in preview.diagnostics]
        raise ValidationError({"subscription": reasons or ["There is nothing to bill."]})
    org = require_organization()
    try:
        with transaction.atomic():
            invoices = write_drafts(org, billable)
            for inv in invoices:
                audit_record(action="invoice.create_draft", actor=actor, api_key=api_key,
                             target=str(inv.public_id), detail={"total": str(inv.total)})
    except IntegrityError as exc:
        raise Conflict(
            "Some of this consumption or period was invoiced meanwhile (another run); "
            "nothing was created. Preview again."
        ) from exc
    return invoices


# --- drafts: manual lines -----------------------------------------------------------------------


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _require_draft(inv: Invoice, doing: str) -> None:
    if inv.status != InvoiceStatus.DRAFT:
        raise Conflict(f"Invoice {inv} is {inv.get_status_display().lower()}: {doing} only on "
                       "drafts. Corrections of issued invoices are credit notes.")


def _minor(inv: Invoice) -> Decimal:
    return pricing.Settings(currency=str(inv.currency)).minor_unit


@transaction.atomic
def invoice_line_add(
    *, invoice: Invoice, description: str, quantity: Decimal, unit_price: Decimal,
    unit: str = "", tax_rate: Decimal = Decimal("0"), actor=None, api_key=None,
) -> InvoiceLine:
    inv = _locked(invoice)
    _require_draft(inv, "lines can be added")
    errors: dict[str, list[str]] = {}
    if not description.strip():
        errors["description"] = ["Say what the line is for."]
    if quantity <= 0:
        errors["quantity"] = ["The quantity must be greater than 0."]
    if not Decimal("0") <= tax_rate <= Decimal("100"):
        errors["tax_rate"] = ["The tax rate is a percentage between 0 and 100."]
    if errors:
        raise ValidationError(errors)
    amount = (quantity * unit_price).quantize(_minor(inv), rounding=ROUND_HALF_UP)
    tax = Decimal("0")  # its share of its rate's VAT is set by retotal
    last = inv.lines.aggregate(m=Max("position"))["m"] or 0
    line = InvoiceLine.objects.create(
        invoice=inv, position=last + 1, kind=LineKind.MANUAL, description=description.strip(),
        quantity=quantity, unit=unit, unit_price=unit_price, amount=amount, tax_rate=tax_rate,
        tax_amount=tax,
    )
    retotal(inv)
    line.refresh_from_db(fields=["tax_amount"])
    audit_record(action="invoice.line_add", actor=actor, api_key=api_key,
                 target=str(inv.public_id),
                 detail={"description": description, "amount": str(amount)})
    return line


@transaction.atomic
def invoice_line_remove(*, line: InvoiceLine, actor=None, api_key=None) -> None:
    inv = _locked(line.invoice)
    _require_draft(inv, "lines can be removed")
    if line.kind != LineKind.MANUAL:
        raise Conflict("Only manual lines can be removed; computed lines follow the readings "
                       "and the tariff (void the draft and create it again).")
    line.delete()
    retotal(inv)
    audit_record(action="invoice.line_remove", actor=actor, api_key=api_key,
                 target=str(inv.public_id), detail={"description": line.description})


# --- lifecycle ----------------------------------------------------------------------------------


@transaction.atomic
def invoice_issue(*, invoice: Invoice, actor=None, api_key=None) -> Invoice:
    """Number the draft (gapless, in this transaction) and lock it. Issuing an issued (or
    paid) invoice again changes nothing."""
    inv = _locked(invoice)
    if inv.status in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
        return inv
    if inv.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {inv} is void and cannot be issued.")
    if not inv.lines.exists():
        raise ValidationError({"lines": ["An invoice without lines cannot be issued."]})
    if inv.stale_reason:
        from billing.services.recompute import stale_conflict

        raise stale_conflict([inv])
    sequence_number, inv.number = document_number_claim(kind=DocumentKind.INVOICE)
    inv.payment_reference = invoice_payment_reference(
        sequence_number=sequence_number, number=inv.number, currency=inv.currency)
    inv.status = InvoiceStatus.ISSUED
    inv.issued_at = timezone.now()
    inv.save(update_fields=["number", "payment_reference", "status", "issued_at"])
    audit_record(action="invoice.issue", actor=actor, api_key=api_key,
                 target=str(inv.public_id), detail={"number": inv.number, "total": str(inv.total)})
    # The PDF statement is prepared in the background once this commits. A hand-issued
    # invoice is not emailed automatically: the manager sends it from the statement panel
    # (or POST invoices/{id}/send/) after checking it; bill runs decide for themselves.
    announce_issued(invoices=[inv], actor=actor, api_key=api_key)
    from billing.services.statements import statements_after_issue

    statements_after_issue(invoices=[inv], send=False, actor=actor)
    return inv


def _move(
    invoice: Invoice, source: str, target: str, stamp: str, *, refusal: str
) -> tuple[Invoice, bool]:
    """Lock the invoice and move it from ``source`` to ``target``, stamping ``stamp`` now;
    False if it was at ``target`` already (a repeat is harmless), Conflict from any other
    status."""
    inv = _locked(invoice)
    if inv.status == target:
        return inv, False
    if inv.status != source:
        raise Conflict(f"Invoice {inv} is {inv.get_status_display().lower()}: {refusal}")
    inv.status = target
    setattr(inv, stamp, timezone.now())
    inv.save(update_fields=["status", stamp])
    return inv, True


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, actor=None, api_key=None) -> Invoice:
    """Paid in full now. With the ledger installed this records a payment of what is
    still open (the ledger then moves the status); otherwise only the status moves."""
    inv = _locked(invoice)
    if inv.status == InvoiceStatus.ISSUED:
        invoice_settle_requested.send(sender=None, invoice=inv, actor=actor, api_key=api_key)
    inv, moved = _move(invoice, InvoiceStatus.ISSUED, InvoiceStatus.PAID, "paid_at",
                       refusal="only issued invoices can be marked paid.")
    if not moved:
        return inv
    audit_record(action="invoice.mark_paid", actor=actor, api_key=api_key,
                 target=str(inv.public_id), detail={"number": inv.number})
    return inv


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor=None, api_key=None) -> Invoice:
    """Void a draft (its consumption can be billed again). Issued invoices are voided only
    by a credit note (:func:`credit_note_create`)."""
    inv, moved = _move(invoice, InvoiceStatus.DRAFT, InvoiceStatus.VOID, "voided_at",
                       refusal="void it with a credit note.")
    if not moved:
        return inv
    release(inv)
    audit_record(action="invoice.void", actor=actor, api_key=api_key, target=str(inv.public_id))
    return inv
