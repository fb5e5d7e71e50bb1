"""Celery tasks: statements. Thin: take ids, load, call one service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.db.models import QuerySet

from billspree.core.models import Organization
from billspree.core.scoping import organization_context

__all__ = [
    "building_statement_generate_task",
    "credit_note_pdf_store_task",
    "invoice_statements_generate_task",
    "statement_delivery_send_task",
]


def _act_on_row(organization_id: int, rows: QuerySet, pk: int, act: Callable[[Any], Any]) -> None:
    """In the organization's context, call ``act`` with row ``pk`` of ``rows``; a row that is
    gone (its transaction rolled back, or it was deleted since) leaves nothing to do."""
    org = Organization.objects.get(pk=organization_id)
    with organization_context(org):
        row = rows.filter(pk=pk).first()
        if row is not None:
            act(row)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def invoice_statements_generate_task(organization_id: int, invoice_ids: list[int], send: bool,
                                     actor_id: int | None = None) -> None:
    """Render (and, if ``send``, email) the statements of a group of issued invoices."""
    from billing.services import statement_delivery as svc

    org = Organization.objects.get(pk=organization_id)
    with organization_context(org):
        svc.invoice_statements_generate(invoice_ids=invoice_ids, send=send, actor_id=actor_id)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def statement_delivery_send_task(organization_id: int, delivery_id: int) -> None:
    """Email one queued statement delivery."""
    from billing.models import StatementDelivery
    from billing.services import statement_delivery as svc

    rows = StatementDelivery.objects.select_related("invoice__tenant", "invoice__organization")
    _act_on_row(organization_id, rows, delivery_id,
                lambda delivery: svc.statement_delivery_send(delivery=delivery))


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def building_statement_generate_task(organization_id: int, statement_id: int) -> None:
    """Render a statement of building charges."""
    from billing.models import BuildingStatement
    from billing.services import building_statements as svc

    rows = BuildingStatement.objects.select_related("property", "organization")
    _act_on_row(organization_id, rows, statement_id,
                lambda statement: svc.building_statement_generate(statement=statement))


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def credit_note_pdf_store_task(organization_id: int, credit_note_id: int) -> None:
    """Keep the PDF of a new credit note as issued."""
    from billing.models import CreditNote
    from billing.services import statements as svc

    _act_on_row(organization_id, CreditNote.objects.all(), credit_note_id,
                lambda note: svc.credit_note_pdf_store(credit_note=note))
