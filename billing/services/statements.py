"""State changes of PDF statements and their email deliveries.

Why this shape: issuing an invoice (alone or thousands in a bill run) must stay fast and
transactional, while rendering a PDF takes tens of milliseconds and mailing it talks to an
outside server. So issuing only writes ``pending`` InvoiceStatement rows (set-based) and,
once the issuing transaction has committed, queues background tasks in groups of invoices;
the tasks render, store and (if asked) email. Every step records its own outcome
(statement ``ready``/``failed`` with the error, one StatementDelivery per email attempt), so
a manager sees what failed and retries just that.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from billing.models import Invoice, InvoiceStatement, StatementStatus
from billspree.core.scoping import require_organization

#: Invoices per background task: large enough that a 10 000-invoice run is ~50 tasks, small
#: enough that one failed worker loses little and several workers share a run.
GENERATE_GROUP = 200


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
    actor_id = getattr(actor, "pk", None)

    def queue() -> None:
        from billing.tasks.statements import invoice_statements_generate_task

        for group in _chunks(ids, GENERATE_GROUP):
            invoice_statements_generate_task.delay(org.pk, group, send, actor_id)

    transaction.on_commit(queue)


def invoice_statements_generate(*, invoice_ids: list[int], send: bool,
                                actor_id: int | None = None) -> None:
    """Render the statements of a group of invoices (first version: rendering lands in the
    next commit; the rows stay ``pending``)."""
    return None
