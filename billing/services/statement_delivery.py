"""Emails of statements and credit notes: one StatementDelivery row per attempt, queued
after the commit, sent in the background, ending ``sent`` or ``failed`` with the reason."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from billing.models import (
    CreditNote,
    DeliveryStatus,
    Invoice,
    InvoiceStatement,
    InvoiceStatus,
    StatementDelivery,
    StatementStatus,
    statement_storage,
)
from billing.selectors.statements import invoices_for_statements
from billing.services.statements import (
    credit_note_pdf_queue,
    credit_note_pdf_store,
    invoice_statement_generate,
)
from billspree.core.errors import Conflict
from billspree.core.ledger_hooks import announce_issued
from billspree.core.queue import enqueue_on_commit
from billspree.core.services import audit_record
from billspree.core.validators import one_line

log = logging.getLogger(__name__)
NO_EMAIL = "the tenant has no email address"


def statement_email(*, invoice: Invoice, pdf: bytes, recipient: str) -> EmailMultiAlternatives:
    """The email of a statement: text and HTML bodies, the PDF attached."""
    from billing.selectors.statements import invoice_statement_data

    data = invoice_statement_data(invoice=invoice)
    ctx = {"s": data}
    org = data.organization
    message = EmailMultiAlternatives(
        subject=one_line(f"Your invoice {invoice.number} from {org.name}"),
        body=render_to_string("billing/email/statement.txt", ctx),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient],
    )
    message.attach_alternative(render_to_string("billing/email/statement.html", ctx),
                               "text/html")
    message.attach(f"{slugify(invoice.number) or 'invoice'}.pdf", pdf, "application/pdf")
    return message


def delivery_done(delivery: StatementDelivery, *, error: str = "") -> StatementDelivery:
    delivery.status = DeliveryStatus.FAILED if error else DeliveryStatus.SENT
    delivery.error = error[:2000]
    delivery.sent_at = None if error else timezone.now()
    delivery.save(update_fields=["status", "error", "sent_at"])
    return delivery


def statement_delivery_send(*, delivery: StatementDelivery,
                            statement: InvoiceStatement | None = None,
                            connection=None) -> StatementDelivery:
    """Email one queued delivery: generate the statement first if it is not ready, then
    send; the delivery ends ``sent`` or ``failed`` with the reason (no email address, the
    statement failed, the mail server refused)."""
    if delivery.status != DeliveryStatus.QUEUED:
        return delivery  # a task delivered twice sends once
    invoice = delivery.invoice
    if not delivery.recipient:
        return delivery_done(delivery, error=NO_EMAIL)
    if delivery.credit_note_id is not None:
        return _credit_note_delivery_send(delivery, connection)
    if invoice.status == InvoiceStatus.VOID:  # credited while this email waited its turn
        note = invoice.credit_notes.first()
        return delivery_done(delivery, error="the invoice was cancelled before the email "
                              "went out" + (f" (credit note {note.number}, emailed instead)"
                                            if note is not None else ""))
    statement = statement or InvoiceStatement.objects.filter(invoice=invoice).first()
    if statement is None or statement.status != StatementStatus.READY:
        statement = invoice_statement_generate(invoice=invoice)
    if statement.status != StatementStatus.READY:
        return delivery_done(delivery, error=f"the statement could not be generated: "
                                              f"{statement.error}")
    try:
        with statement_storage().open(statement.file.name, "rb") as fh:
            pdf = fh.read()
        message = statement_email(invoice=invoice, pdf=pdf, recipient=delivery.recipient)
        message.connection = connection
        message.send()
    except Exception as exc:  # SMTP refusals, timeouts, a missing file: shown to the manager
        log.warning("statement email of invoice %s failed: %s", invoice.pk, exc)
        return delivery_done(delivery, error=f"{type(exc).__name__}: {exc}")
    return delivery_done(delivery)


def invoice_statement_send(*, invoice: Invoice, actor=None, api_key=None) -> StatementDelivery:
    """Queue an email of the invoice's statement to its tenant (send or resend): a new
    delivery row now, the email in the background. A tenant without an email address gets
    a ``failed`` delivery at once, saying so."""
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict("A draft cannot be sent: issue the invoice first.")
    return delivery_queue(invoice=invoice, credit_note=None, action="statement.send",
                           document=invoice, actor=actor, api_key=api_key)


def delivery_queue(*, invoice: Invoice, credit_note: CreditNote | None, action: str,
                    document: Invoice | CreditNote, actor, api_key) -> StatementDelivery:
    """A new delivery of a document to the invoice's tenant, audited, its email queued
    after the commit (or ``failed`` at once when the tenant has no email address)."""
    recipient = invoice.tenant.email
    delivery = StatementDelivery.objects.create(
        invoice=invoice, credit_note=credit_note, recipient=recipient,
        requested_by=actor if actor is not None and actor.is_authenticated
        and getattr(actor, "api_key", None) is None else None)
    audit_record(action=action, actor=actor, api_key=api_key, target=str(document.public_id),
                 detail={"number": document.number, "recipient": recipient})
    if not recipient:
        return delivery_done(delivery, error=NO_EMAIL)
    enqueue_on_commit("billing.tasks.statements.statement_delivery_send_task",
                      invoice.organization_id, delivery.pk)
    return delivery


def credit_note_email(*, note: CreditNote, pdf: bytes, recipient: str) -> EmailMultiAlternatives:
    """The email of a credit note: text and HTML bodies, its PDF attached."""
    from billing.selectors.statements import credit_note_statement_data

    ctx = {"s": credit_note_statement_data(credit_note=note)}
    message = EmailMultiAlternatives(
        subject=one_line(f"Credit note {note.number} for your invoice {note.invoice.number} "
                         f"from {note.organization.name}"),
        body=render_to_string("billing/email/credit_note.txt", ctx),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient],
    )
    message.attach_alternative(render_to_string("billing/email/credit_note.html", ctx),
                               "text/html")
    message.attach(f"credit-note-{slugify(note.number) or note.public_id}.pdf", pdf,
                   "application/pdf")
    return message


def _credit_note_delivery_send(delivery: StatementDelivery, connection) -> StatementDelivery:
    try:
        note = credit_note_pdf_store(credit_note=delivery.credit_note)
        with statement_storage().open(note.pdf.name, "rb") as fh:
            pdf = fh.read()
        message = credit_note_email(note=note, pdf=pdf, recipient=delivery.recipient)
        message.connection = connection
        message.send()
    except Exception as exc:  # a failed render, SMTP refusals: shown to the manager
        log.warning("email of credit note %s failed: %s", delivery.credit_note_id, exc)
        return delivery_done(delivery, error=f"{type(exc).__name__}: {exc}")
    return delivery_done(delivery)


def credit_note_send(*, credit_note: CreditNote, actor=None, api_key=None
                     ) -> StatementDelivery:
    """Queue an email of a credit note (its PDF attached) to the tenant of the invoice it
    cancels: a new delivery row now, the email in the background. A tenant without an
    email address gets a ``failed`` delivery at once, saying so."""
    return delivery_queue(invoice=credit_note.invoice, credit_note=credit_note,
                           action="credit_note.send", document=credit_note, actor=actor,
                           api_key=api_key)


def credit_note_after_create(*, credit_note: CreditNote, actor=None, api_key=None) -> None:
    """Keep the new credit note's PDF and, if the tenant was emailed the invoice it
    cancels (or an email of it is still queued: it will not go out, see
    ``statement_delivery_send``), email them the credit note too (they would otherwise
    still expect to pay). The ledger posts it in this transaction."""
    announce_issued(credit_notes=[credit_note], actor=actor, api_key=api_key)
    credit_note_pdf_queue(credit_note=credit_note)
    invoice = credit_note.invoice
    emailed = StatementDelivery.objects.filter(
        invoice=invoice, credit_note__isnull=True,
        status__in=[DeliveryStatus.SENT, DeliveryStatus.QUEUED]).exists()
    if emailed and invoice.tenant.email:
        credit_note_send(credit_note=credit_note, actor=actor, api_key=api_key)


def invoice_statements_generate(*, invoice_ids: list[int], send: bool,
                                actor_id: int | None = None) -> None:
    """Generate the statements of a group of invoices (one background task) and, if
    ``send``, email each tenant theirs. The group is loaded at once with its lines and
    billed periods (:func:`invoices_for_statements`); each PDF is rendered on its own (the
    render, not the database, is the cost)."""
    invoices = invoices_for_statements(invoice_ids)
    # a task delivered again (a worker lost mid-group) must not email twice: invoices that
    # already have a sent or queued delivery are skipped; failed ones are tried again
    done = set(StatementDelivery.objects.filter(
        invoice_id__in=invoice_ids, credit_note__isnull=True,
        status__in=[DeliveryStatus.SENT, DeliveryStatus.QUEUED],
    ).values_list("invoice_id", flat=True)) if send else set()
    connection = get_connection() if send else None  # one SMTP session for the group
    for invoice in invoices:
        statement = invoice_statement_generate(invoice=invoice)
        if send and invoice.pk not in done:
            delivery = StatementDelivery.objects.create(
                invoice=invoice, recipient=invoice.tenant.email, requested_by_id=actor_id)
            statement_delivery_send(delivery=delivery, statement=statement,
                                    connection=connection)
    if connection is not None:
        connection.close()
