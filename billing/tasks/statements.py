"""Celery tasks: statements. Thin: take ids, load, call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from billspree.core.models import Organization
from billspree.core.scoping import organization_context

__all__ = ["invoice_statements_generate_task"]


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def invoice_statements_generate_task(organization_id: int, invoice_ids: list[int], send: bool,
                                     actor_id: int | None = None) -> None:
    """Render (and, if ``send``, email) the statements of a group of issued invoices."""
    from billing.services import statements as svc

    org = Organization.objects.get(pk=organization_id)
    with organization_context(org):
        svc.invoice_statements_generate(invoice_ids=invoice_ids, send=send, actor_id=actor_id)
