"""Tenant portal views of billing: a tenant's own invoices and statements.

Every view inherits :class:`tenants.portal.TenantPortalMixin` and reads through the tenant
scopes registered in :mod:`billing.selectors.tenant_portal` ("invoice"), so another
tenant's invoice — or a draft — answers 404 exactly like a random id.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from billing.models import InvoiceLine, LineKind, StatementStatus
from billing.selectors.statements import invoice_statement_data
from billing.selectors.tenant_portal import (
    invoice_payment,
    invoice_statement,
    invoices_payments,
    tenant_amounts_due,
)
from billing.selectors.totals import invoice_totals
from billing.views.statements import credit_note_pdf_response
from billspree.core.portal_pages import page_context, paginate
from tenants.portal import TenantPortalMixin

PAGE_SIZE = 24


class InvoiceListView(TenantPortalMixin, TemplateView):
    template_name = "tenant_portal/invoice_list.html"
    scope = "invoice"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        page = paginate(self.request, self.scoped(), PAGE_SIZE)
        invoices_payments(list(page.object_list))
        ctx.update(amounts_due=tenant_amounts_due(self.tenant),
                   **page_context(page, rows="invoices"))
        return ctx


class LatestInvoicesView(TenantPortalMixin, TemplateView):
    """The home page's billing card, loaded by htmx (tenants cannot import billing): what is
    due now and by when (or that nothing is), how to pay, and the latest invoices."""

    template_name = "tenant_portal/_latest_invoices.html"
    scope = "invoice"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        invoices = list(self.scoped()[:3])
        invoices_payments(invoices)
        ctx.update(invoices=invoices, amounts_due=tenant_amounts_due(self.tenant))
        return ctx


class InvoiceDetailView(TenantPortalMixin, TemplateView):
    template_name = "tenant_portal/invoice_detail.html"
    scope = "invoice"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        lines = InvoiceLine.objects.select_related("meter").order_by("position", "pk")
        invoice = self.get_object(
            self.scoped().prefetch_related(Prefetch("lines", lines), "credit_notes")
        )
        lines = list(invoice.lines.all())
        # the meter readings as the PDF prints them (register values, multiplier,
        # consumption): the statement's own data, not a second computation
        printed = invoice_statement_data(invoice=invoice)
        ctx.update(
            invoice=invoice, lines=[x for x in lines if x.kind != LineKind.ROUNDING],
            totals=invoice_totals(invoice, lines), payment=invoice_payment(invoice),
            meters=printed.meters, any_estimated=printed.any_estimated,
            multiplied=any(m.multiplier != 1 for m in printed.meters),
            statement=invoice_statement(invoice), tz=invoice.billing_point.property.time_zone,
            credit_notes=list(invoice.credit_notes.all()),
        )
        return ctx


class StatementDownloadView(TenantPortalMixin, View):
    """The PDF from the private ``statements`` storage, as an attachment."""

    scope = "invoice"

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        invoice = self.get_object()
        statement = invoice_statement(invoice)
        if statement is None or statement.status != StatementStatus.READY or not statement.file:
            messages.info(request, "Your statement is being prepared; try again in a few minutes.")
            return redirect("my_billing:invoice", id=invoice.public_id)
        return FileResponse(
            statement.file.open("rb"), as_attachment=True,
            filename=f"statement-{invoice.number or invoice.public_id}.pdf",
            content_type="application/pdf",
        )


class CreditNoteDownloadView(TenantPortalMixin, View):
    """A credit note of one of the tenant's invoices, as a PDF attachment."""

    scope = "credit_note"

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        return credit_note_pdf_response(self.get_object())
