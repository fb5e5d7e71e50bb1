"""What a tenant sees of billing: their issued, paid and void invoices — never drafts —
and the statements of those. Registered as tenant scopes (see :mod:`tenants.portal`), so
the portal's views look invoices up only among the logged-in tenant's."""

from __future__ import annotations

from django.db.models import QuerySet

from billing.models import CreditNote, Invoice, InvoiceStatement, InvoiceStatus
from tenants.models import Tenant
from tenants.portal import register_scope

VISIBLE = (InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.VOID)


def tenant_invoices(tenant: Tenant) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(tenant=tenant, status__in=VISIBLE)
        .select_related("billing_point__property", "statement")
        .order_by("-period_start", "-pk")
    )


def tenant_statements(tenant: Tenant) -> QuerySet[InvoiceStatement]:
    return InvoiceStatement.objects.filter(
        invoice__tenant=tenant, invoice__status__in=VISIBLE
    ).select_related("invoice")


def tenant_credit_notes(tenant: Tenant) -> QuerySet[CreditNote]:
    return CreditNote.objects.filter(invoice__tenant=tenant, invoice__status__in=VISIBLE)


register_scope("invoice", tenant_invoices)
register_scope("statement", tenant_statements)
register_scope("credit_note", tenant_credit_notes)


def invoice_statement(invoice: Invoice) -> InvoiceStatement | None:
    """The invoice's statement row, or None when none was created yet."""
    try:
        return invoice.statement
    except InvoiceStatement.DoesNotExist:
        return None
