"""Portal views: statements. The statement panel of an invoice (status, download,
regenerate, deliveries, send/resend), the PDF download, and the statements of building
charges (request per property and period, status, download). Thin: parse, call a service,
render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billing import services
from billing.forms import period_in_order
from billing.models import (
    BuildingStatement,
    CreditNote,
    Invoice,
    InvoiceStatement,
    StatementDelivery,
    StatementStatus,
    statement_storage,
)
from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.form_fields import BoundedDateField
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import error_text
from billspree.core.portal_pages import page_context, paginate
from billspree.core.portal_views import ConfirmView
from meters.models import Property

PAGE_SIZE = 25


def pdf_response(file_name: str, download_name: str) -> FileResponse:
    """A stored PDF as an attachment (never a public URL: the statements storage has none)."""
    try:
        fh = statement_storage().open(file_name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The PDF file is missing; regenerate the statement.") from exc
    return FileResponse(fh, as_attachment=True, filename=download_name,
                        content_type="application/pdf")


def credit_note_pdf_response(note: CreditNote) -> FileResponse:
    """A credit note's PDF as issued (stored at its first render) as an attachment."""
    if not note.pdf:
        note = services.credit_note_pdf_store(credit_note=note)
    return pdf_response(note.pdf.name, f"credit-note-{note.number}.pdf")


def invoice_pdf_name(invoice: Invoice) -> str:
    return f"invoice-{invoice.number or invoice.public_id}.pdf"


def invoice_statement_pdf_response(invoice: Invoice) -> FileResponse:
    """An invoice's statement PDF as an attachment, or 404 while it is not ready (the
    portal's download and the API's answer alike)."""
    statement = InvoiceStatement.objects.filter(invoice=invoice).first()
    if statement is None or statement.status != StatementStatus.READY:
        raise Http404("This invoice's statement is not ready.")
    return pdf_response(statement.file.name, invoice_pdf_name(invoice))


def statement_panel_context(invoice: Invoice) -> dict[str, Any]:
    statement = InvoiceStatement.objects.filter(invoice=invoice).first()
    deliveries = list(StatementDelivery.objects.filter(invoice=invoice)
                      .select_related("requested_by", "credit_note")[:20])
    return {"invoice": invoice, "statement": statement, "deliveries": deliveries, "loaded": True,
            "tz": invoice.billing_point.property.time_zone,
            "sent_before": any(d.status == "sent" and d.credit_note_id is None
                               for d in deliveries),
            "live": (statement is not None and statement.status == StatementStatus.PENDING)
            or any(d.status == "queued" for d in deliveries)}


class _InvoiceView(OrganizationPortalMixin, View):
    model = Invoice

    def invoice(self, id: Any) -> Invoice:
        return get_object_or_404(
            Invoice.objects.select_related("tenant", "billing_point__property"), public_id=id)


class StatementPanelView(_InvoiceView):
    """The statement panel of an invoice page (loaded and refreshed by htmx)."""

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        return render(request, "billing/_statement_panel.html",
                      statement_panel_context(self.invoice(id)))


class StatementDownloadView(_InvoiceView):
    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        return invoice_statement_pdf_response(self.invoice(id))


class InvoiceConfirmView(ConfirmView):
    """GET: a confirmation page of an action on an invoice; POST: :meth:`act` (which
    returns the message), back to the invoice."""

    model = Invoice
    queryset = Invoice.objects.select_related("tenant", "billing_point__property")
    confirm_template = "billing/confirm.html"
    verb = ""
    explain: Any = ""
    danger = False

    def confirm_context(self, invoice: Invoice) -> dict[str, Any]:
        explain = self.explain(invoice) if callable(self.explain) else self.explain
        return {"invoice": invoice, "verb": self.verb, "explain": explain,
                "danger": self.danger}

    def success_url(self, invoice: Invoice) -> str:
        return reverse("billing:invoice_detail", kwargs={"id": invoice.public_id})


class StatementSendView(InvoiceConfirmView):
    verb = "Send statement"

    def explain(self, invoice: Invoice) -> str:
        if not invoice.tenant.email:
            return (f"{invoice.tenant.name} has no email address: the delivery will be "
                    "recorded as failed. Add an address to the tenant first.")
        again = StatementDelivery.objects.filter(invoice=invoice, credit_note__isnull=True,
                                                 status="sent").exists()
        return (f"{'Send the statement again' if again else 'Send the statement'} to "
                f"{invoice.tenant.email}, with the PDF attached.")

    def act(self, invoice):
        delivery = services.invoice_statement_send(invoice=invoice, **self.actor.kwargs())
        if delivery.status == "failed":
            raise Conflict(f"Not sent: {delivery.error}.")
        return f"The statement is being sent to {delivery.recipient}."


class StatementRegenerateView(InvoiceConfirmView):
    verb = "Regenerate statement"
    explain = ("The PDF is rendered again in the background with the current branding and "
               "replaces the stored file. The invoice itself does not change.")

    def act(self, invoice):
        services.invoice_statement_regenerate(invoice=invoice, **self.actor.kwargs())
        return "The statement is being regenerated."


# --- statements of building charges ---------------------------------------------------------


class BuildingStatementForm(forms.Form):
    property = forms.ModelChoiceField(queryset=Property.objects.all(), to_field_name="public_id")
    period_start = BoundedDateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    period_end = BoundedDateField(label="Until (exclusive)",
                                 widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="The first day after the period.")

    def clean(self):
        data = super().clean()
        period_in_order(self, data)
        return data


def _last_month(today: date) -> tuple[date, date]:
    """The last complete month: the usual default of a statement."""
    end = today.replace(day=1)
    return (end - timedelta(days=1)).replace(day=1), end


class BuildingStatementListView(OrganizationPortalMixin, View):
    model = BuildingStatement

    def page(self, request: HttpRequest, form=None, status: int = 200) -> HttpResponse:
        qs = BuildingStatement.objects.select_related("property").order_by("-created_at", "-pk")
        page = paginate(request, qs, PAGE_SIZE)
        if form is None:
            start, end = _last_month(organization_today(request))
            form = BuildingStatementForm(initial={"period_start": start, "period_end": end})
        ctx = {"form": form, **page_context(page),
               "live": any(r.status == StatementStatus.PENDING for r in page.object_list)}
        template = ("billing/statements/_building_rows.html" if request.headers.get("HX-Request")
                    else "billing/statements/building_list.html")
        return render(request, template, ctx, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BuildingStatementForm(request.POST)
        if not form.is_valid():
            return self.page(request, form, status=400)
        try:
            services.building_statement_request(**Actor.of(request).kwargs(),
                                                **form.cleaned_data)
        except (ValidationError, Conflict) as exc:
            form.add_error(None, error_text(exc))
            return self.page(request, form, status=400)
        messages.success(request, f"The statement of {form.cleaned_data['property'].name} is "
                                  "being prepared; it appears below when ready.")
        return redirect("billing:building_statement_list")


class BuildingStatementDownloadView(OrganizationPortalMixin, View):
    model = BuildingStatement

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        st = get_object_or_404(BuildingStatement.objects.select_related("property"), public_id=id)
        if st.status != StatementStatus.READY:
            raise Http404("This statement is not ready.")
        return pdf_response(st.file.name, building_pdf_name(st))


def building_pdf_name(st: BuildingStatement) -> str:
    from django.utils.text import slugify

    return (f"building-charges-{slugify(st.property.name)}-{st.period_start:%Y-%m-%d}-"
            f"{st.period_end:%Y-%m-%d}.pdf")
