"""State changes of PDF statements and their email deliveries.

Why this shape: issuing an invoice (alone or thousands in a bill run) must stay fast and
transactional, while rendering a PDF takes tens of milliseconds and mailing it talks to an
outside server. So issuing only writes ``pending`` InvoiceStatement rows (set-based) and,
once the issuing transaction has committed, queues background tasks in groups of invoices;
the tasks render, store and (if asked) email. Every step records its own outcome
(statement ``ready``/``failed`` with the error, one StatementDelivery per email attempt), so
a manager sees what failed and retries just that.

This module renders and stores the PDFs (invoice statements, credit notes);
``statement_delivery`` emails them, ``building_statements`` does the statements of
building charges.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from billing.models import (
    CreditNote,
    Invoice,
    InvoiceStatement,
    InvoiceStatus,
    StatementStatus,
    statement_storage,
)
from billspree.core.errors import Conflict
from billspree.core.queue import enqueue_many_on_commit, enqueue_on_commit
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record

log = logging.getLogger(__name__)

#: Invoices per background task: large enough that a 10 000-invoice run is ~50 tasks, small
#: enough that one failed worker loses little and several workers share a run.
GENERATE_GROUP = 200
GENERATE_TASK = "billing.tasks.statements.invoice_statements_generate_task"


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def statements_after_issue(*, invoices: list[Invoice], send: bool, actor=None) -> None:
    """Create the pending statements of freshly issued invoices and queue their generation
    (and, if ``send``, their email) after the surrounding transaction commits.

    Set-based: one INSERT for the statement rows (an invoice that already has a statement
    keeps it: re-issuing is idempotent) and one task per ``GENERATE_GROUP`` invoices.
    """
    if not invoices:
        return
    org = require_organization()
    ids = sorted({inv.pk for inv in invoices})
    InvoiceStatement.objects.bulk_create(
        [InvoiceStatement(organization=org, invoice_id=pk, status=StatementStatus.PENDING)
         for pk in ids],
        ignore_conflicts=True,
    )
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None

    enqueue_many_on_commit(
        GENERATE_TASK, [(org.pk, group, send, actor_id) for group in _chunks(ids, GENERATE_GROUP)]
    )


# --- generation -----------------------------------------------------------------------------


def store_pdf(*, old_name: str, name: str, pdf: bytes) -> str:
    """Write ``pdf`` to the statements storage, then remove the previous file: the new one
    is complete before the old one goes (a failed write keeps the old file), and a
    regenerated statement leaves one file, not a trail of copies. Where ``name`` is taken
    (the previous render) the filesystem storage picks a free variant of it; S3 overwrites
    in one request (``file_overwrite``)."""
    storage = statement_storage()
    saved = storage.save(name, ContentFile(pdf))
    if old_name and old_name != saved and storage.exists(old_name):
        storage.delete(old_name)
    return saved


def invoice_statement_file_name(invoice: Invoice) -> str:
    """``invoices/<organization>/<year>/<number>.pdf``: organizations share the storage
    and may use the same numbers."""
    year = (invoice.issued_at or invoice.created_at or timezone.now()).year
    number = slugify(invoice.number or f"draft-{invoice.public_id}")
    return f"invoices/{invoice.organization.public_id}/{year}/{number}.pdf"


def invoice_statement_render(*, invoice: Invoice) -> bytes:
    """The PDF of ``invoice`` (reads only)."""
    from billing.selectors.statements import invoice_statement_data
    from billing.statements.render import html_to_pdf, invoice_statement_html

    return html_to_pdf(invoice_statement_html(invoice_statement_data(invoice=invoice)))


def invoice_statement_generate(*, invoice: Invoice) -> InvoiceStatement:
    """Render and store the statement of an issued invoice: ``ready`` with the file, or
    ``failed`` with the error (the previous file, if any, is kept until a render succeeds).
    Running it again replaces the file: idempotent, and the retry after a failure."""
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.VOID):
        raise Conflict(f"Invoice {invoice} is a draft: it has no statement until it is issued.")
    # One render at a time per invoice: the statement row is locked first, so a regenerate
    # racing a bill run's task waits. The success path is one transaction of a handful of
    # round trips around the layout engine (lock, three reads, one UPDATE; bench/statements.py).
    # A failure anywhere rolls it all back, and a second short transaction records it: a
    # database error inside the render cannot leave the outcome unwritten.
    try:
        with transaction.atomic():
            statement = _statement_locked(invoice)
            pdf = invoice_statement_render(invoice=invoice)
            name = store_pdf(old_name=statement.file.name,
                          name=invoice_statement_file_name(invoice), pdf=pdf)
            return _statement_outcome(statement, status=StatementStatus.READY, file=name,
                                      size=len(pdf), error="", generated_at=timezone.now())
    except Exception as exc:  # a statement's failure is recorded, never lost in a log
        log.exception("statement of invoice %s failed", invoice.pk)
        with transaction.atomic():
            return _statement_outcome(_statement_locked(invoice),
                                      status=StatementStatus.FAILED,
                                      error=f"{type(exc).__name__}: {exc}"[:2000])


def _statement_locked(invoice: Invoice) -> InvoiceStatement:
    """The invoice's statement row, locked, with this attempt counted. Lock and create in
    one step: the row exists for every issued invoice; only a statement of before the
    table pays the INSERT."""
    statement, _ = InvoiceStatement.objects.select_for_update().get_or_create(invoice=invoice)
    statement.attempts += 1
    return statement


def _statement_outcome(statement: InvoiceStatement, **outcome) -> InvoiceStatement:
    """Write the outcome with UPDATE and set it on the locked instance, not read back."""
    outcome["attempts"] = statement.attempts
    InvoiceStatement.objects.filter(pk=statement.pk).update(**outcome)
    for attr, value in outcome.items():
        setattr(statement, attr, value)
    return statement


def invoice_statement_regenerate(*, invoice: Invoice, actor=None, api_key=None
                                 ) -> InvoiceStatement:
    """Queue a new render of an invoice's statement (after a failure, a new logo, …)."""
    if invoice.status == InvoiceStatus.DRAFT:
        raise Conflict("A draft has no statement: issue the invoice first.")
    statement, _ = InvoiceStatement.objects.get_or_create(invoice=invoice)
    InvoiceStatement.objects.filter(pk=statement.pk).update(status=StatementStatus.PENDING)
    audit_record(action="statement.regenerate", actor=actor, api_key=api_key,
                 target=str(invoice.public_id), detail={"number": invoice.number})
    enqueue_on_commit(GENERATE_TASK, invoice.organization_id, [invoice.pk], False)
    statement.refresh_from_db()
    return statement


# --- credit notes ---------------------------------------------------------------------------


def credit_note_pdf_file_name(note: CreditNote) -> str:
    """``credit-notes/<organization>/<year>/<number>.pdf``, like the invoices."""
    return (f"credit-notes/{note.organization.public_id}/{note.issued_at:%Y}/"
            f"{slugify(note.number) or note.public_id}.pdf")


def credit_note_pdf_queue(*, credit_note: CreditNote) -> None:
    """Store the PDF of a new credit note once its transaction has committed."""
    enqueue_on_commit("billing.tasks.statements.credit_note_pdf_store_task",
                      credit_note.organization_id, credit_note.pk)


def credit_note_pdf_store(*, credit_note: CreditNote) -> CreditNote:
    """Render and keep a credit note's PDF, once: the first render is the document as
    issued, and every later download serves that file (the note's row refuses a second
    one). Normally done in the background right after the note is created; a download
    that finds no file (the worker was down, the render failed) does it then."""
    with transaction.atomic():
        note = (CreditNote.objects.select_for_update(of=("self",))
                .select_related("organization").get(pk=credit_note.pk))
        if note.pdf:
            return note  # a task run twice, or a download racing the task
        from billing.statements.render import credit_note_pdf

        name = store_pdf(old_name="", name=credit_note_pdf_file_name(note),
                      pdf=credit_note_pdf(note))
        CreditNote.objects.filter(pk=note.pk).update(pdf=name,
                                                     pdf_generated_at=timezone.now())
    note.refresh_from_db()
    return note
