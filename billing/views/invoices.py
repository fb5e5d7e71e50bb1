"""Portal pages of billing: invoices (list, detail with the trace of every line, issue,
pay, void, credit note, manual lines), subscriptions and the preview (dry run)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billing import forms, services
from billing.models import (
    Adjustment,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Subscription,
)
from billing.selectors.fixes import attach_preview_fixes
from billing.selectors.review import draft_comparisons, outlier_threshold
from billing.selectors.statements import points as _points
from billing.selectors.totals import credit_note_totals, invoice_totals, legacy_rounding
from billing.services.credit_notes import (
    credit_note_for_adjustments,
    credit_note_preview,
    credited_total,
)
from billing.views.statements import InvoiceConfirmView, credit_note_pdf_response
from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import form_errors
from billspree.core.portal_pages import page_context, paginate
from billspree.core.portal_views import ActionView, ConfirmView

PAGE_SIZE = 25


# --- invoices -----------------------------------------------------------------------------


class InvoiceListView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        qs = Invoice.objects.select_related("tenant", "billing_point__property").order_by(
            "-period_start", "-pk"
        )
        q = request.GET.get("q", "").strip()
        state = request.GET.get("status", "")
        if q:
            qs = qs.filter(Q(number__icontains=q) | Q(tenant__name__icontains=q)
                           | Q(billing_point__name__icontains=q))
        if state in InvoiceStatus.values:
            qs = qs.filter(status=state)
        ctx = {"q": q, "status": state, "statuses": InvoiceStatus.choices,
               **page_context(paginate(request, qs, PAGE_SIZE))}
        ctx["rows"] = rows = list(ctx["rows"])
        legacy = legacy_rounding(r.pk for r in rows)
        for r in rows:  # old invoices' rounding line is cash rounding, not net
            r.net_shown = r.net_total - legacy.get(r.pk, 0)
        return render(request, "billing/invoice_list.html", ctx)


def _invoice(id: Any) -> Invoice:
    lines = InvoiceLine.objects.select_related(
        "meter", "assignment", "adjustment__original_invoice").order_by("position", "pk")
    qs = Invoice.objects.select_related("tenant", "billing_point__property", "subscription__plan",
                                        "bill_run__batch")
    return get_object_or_404(
        qs.prefetch_related(Prefetch("lines", queryset=lines), "credit_notes"), public_id=id
    )


class InvoiceDetailView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest, id: Any, form=None, status: int = 200) -> HttpResponse:
        invoice = _invoice(id)
        lines = list(invoice.lines.all())
        for line in lines:  # the readings each boundary value came from, as instants
            line.start_from, line.end_from = _points(line.start_sources), _points(
                line.end_sources)
        adjustments = Adjustment.objects.filter(original_invoice=invoice).select_related(
            "tenant", "meter", "invoice", "credit_note")
        ctx = {"invoice": invoice, "lines": [x for x in lines if x.kind != LineKind.ROUNDING],
               "line_form": form or forms.ManualLineForm(),
               "totals": invoice_totals(invoice, lines),
               "adjustments": list(adjustments),
               "pending_adjustments": any(a.status == "pending" for a in adjustments),
               "creditable_adjustments": any(
                   a.status == "pending" and a.amount < 0 for a in adjustments),
               "tz": invoice.billing_point.property.time_zone,
               "review": draft_comparisons([invoice])[invoice.pk] if invoice.is_draft else None,
               "outlier_percent": outlier_threshold()}
        return render(request, "billing/invoice_detail.html", ctx, status=status)


class InvoiceLineAddView(OrganizationPortalMixin, View):
    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        invoice = get_object_or_404(Invoice, public_id=id)
        form = forms.ManualLineForm(request.POST)
        if form.is_valid():
            try:
                services.invoice_line_add(invoice=invoice, **form.cleaned_data,
                                          **Actor.of(request).kwargs())
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc, prefix_unknown=True)
            else:
                messages.success(request, "Line added.")
                return redirect("billing:invoice_detail", id=invoice.public_id)
        return InvoiceDetailView.get(self, request, id, form=form, status=400)


class InvoiceLineRemoveView(ActionView):
    model = InvoiceLine
    queryset = InvoiceLine.objects.select_related("invoice")

    def act(self, line: InvoiceLine) -> str:
        services.invoice_line_remove(line=line, **self.actor.kwargs())
        return f"Removed “{line.description}”."

    def success_url(self, line: InvoiceLine) -> str:
        return reverse("billing:invoice_detail", kwargs={"id": line.invoice.public_id})


class InvoiceIssueView(InvoiceConfirmView):
    verb = "Issue"
    explain = ("Issuing numbers the invoice and locks it: it cannot be edited afterwards, "
               "only credited.")

    def act(self, invoice):
        inv = services.invoice_issue(invoice=invoice, **self.actor.kwargs())
        return f"Issued {inv.number}."


class InvoiceRecomputeView(InvoiceConfirmView):
    verb = "Recompute"
    explain = ("The draft is rebuilt from the current readings, occupancy and meters (its "
               "manual lines are kept). A tenant who no longer occupies any of the period has "
               "the draft voided; a new occupant of the period gets a draft of their own.")

    def act(self, invoice):
        inv = services.invoice_recompute(invoice=invoice, **self.actor.kwargs())
        text = (f"Draft recomputed: total {inv.total:.2f} {inv.currency}."
                if inv.outcome == "recomputed" else
                f"{invoice.tenant} has nothing left to bill in the period: the draft is void.")
        if inv.new_drafts:
            text += f" {len(inv.new_drafts)} new draft(s) for the period's other occupants."
        return text


class InvoicePayView(InvoiceConfirmView):
    verb = "Mark paid"
    explain = "Record that this invoice has been paid in full."

    def act(self, invoice):
        inv = services.invoice_mark_paid(invoice=invoice, **self.actor.kwargs())
        return f"{inv.number} marked paid."


class InvoiceVoidView(InvoiceConfirmView):
    verb = "Void draft"
    explain = "The draft is voided; its consumption can be billed again."
    danger = True

    def act(self, invoice):
        services.invoice_void(invoice=invoice, **self.actor.kwargs())
        return "Draft voided."


class CreditNoteCreateView(OrganizationPortalMixin, View):
    """The whole invoice (the form page is the confirmation), or chosen lines / an amount:
    a confirmation page shows exactly what will be credited (VAT per rate, cash rounding)
    before the numbered note is issued."""

    def render_form(self, request, invoice, form, status=200, preview=None):
        return render(request, "billing/credit_note_form.html", {
            "invoice": invoice, "form": form, "preview": preview,
            "credited": credited_total(invoice)}, status=status)

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        invoice = get_object_or_404(Invoice.objects.select_related("tenant"), public_id=id)
        return self.render_form(request, invoice, forms.CreditNoteForm(invoice=invoice))

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        invoice = get_object_or_404(Invoice.objects.select_related("tenant"), public_id=id)
        form = forms.CreditNoteForm(request.POST, invoice=invoice)
        if form.is_valid():
            partial = form.cleaned_data["mode"] != "full"
            try:
                if partial and not request.POST.get("confirm"):
                    preview = credit_note_preview(invoice=invoice, **form.service_kwargs())
                    return self.render_form(request, invoice, form, preview=preview)
                note = services.credit_note_create(invoice=invoice, **form.service_kwargs(),
                                                   **Actor.of(request).kwargs())
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc, prefix_unknown=True)
            else:
                emailed = note.deliveries.first()
                done = (f"{invoice} is void." if note.full else
                        f"{invoice} stays issued; {credited_total(invoice):.2f} "
                        f"{invoice.currency} of it is credited so far.")
                messages.success(request, f"Credit note {note.number} issued; {done}"
                                 + (f" It is being emailed to {emailed.recipient}, who was "
                                    "sent the invoice." if emailed else ""))
                return redirect("billing:invoice_detail", id=invoice.public_id)
        return self.render_form(request, invoice, form, status=400)


class AdjustmentRebillView(InvoiceConfirmView):
    verb = "Credit and re-bill now"
    explain = ("The pending adjustments of this period are settled at once instead of on the "
               "tenants' next invoices: the reductions with a partial credit note of this "
               "invoice, the additions with a re-bill draft per tenant (review and issue it). "
               "This invoice stays issued; every adjustment is settled once.")

    def act(self, invoice):
        out = services.adjustments_rebill(invoice=invoice, **self.actor.kwargs())
        parts = []
        if out.credit_note:
            parts.append(f"credit note {out.credit_note.number} "
                         f"({out.credit_note.total:.2f} {out.credit_note.currency})")
        if out.invoices:
            parts.append(f"{len(out.invoices)} re-bill draft(s) to review and issue")
        return "Settled: " + " and ".join(parts) + "."


class AdjustmentCreditView(InvoiceConfirmView):
    verb = "Credit now"
    explain = ("The pending adjustments of this period that lower what is owed (e.g. days "
               "and consumption the tenant paid but did not use) are credited at once with a "
               "partial credit note, instead of waiting for the tenant's next invoice. The "
               "invoice stays issued.")

    def act(self, invoice):
        note = credit_note_for_adjustments(invoice=invoice, **self.actor.kwargs())
        return f"Credit note {note.number} issued for {-note.total:.2f} {note.currency}."


class CreditNoteDetailView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        note = get_object_or_404(
            CreditNote.objects.select_related("invoice__tenant")
            .prefetch_related("lines__invoice_line"),
            public_id=id,
        )
        deliveries = note.deliveries.select_related("requested_by")[:20]
        return render(request, "billing/credit_note_detail.html", {
            "note": note, "deliveries": deliveries,
            "totals": credit_note_totals(note, note.lines.all())})


class CreditNoteSendView(ConfirmView):
    """GET: what will be sent to whom; POST: queue the email, back to the credit note."""

    model = CreditNote
    queryset = CreditNote.objects.select_related("invoice__tenant")
    confirm_template = "billing/credit_note_send.html"

    def confirm_context(self, note: CreditNote) -> dict[str, Any]:
        return {"note": note, "credited": -note.total,
                "sent_before": note.deliveries.filter(status="sent").exists()}

    def act(self, note: CreditNote) -> str:
        delivery = services.credit_note_send(credit_note=note, **self.actor.kwargs())
        if delivery.status == "failed":
            raise Conflict(f"Not sent: {delivery.error}.")
        return f"The credit note is being sent to {delivery.recipient}."

    def success_url(self, note: CreditNote) -> str:
        return reverse("billing:credit_note_detail", kwargs={"id": note.public_id})


class CreditNotePdfView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        return credit_note_pdf_response(get_object_or_404(CreditNote, public_id=id))


# --- subscriptions --------------------------------------------------------------------------


class SubscriptionListView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        qs = Subscription.objects.select_related(
            "billing_point__property", "plan", "variant", "batch"
        ).order_by("billing_point__name", "-start_date")
        q = request.GET.get("q", "").strip()
        if q:
            qs = qs.filter(Q(billing_point__name__icontains=q) | Q(plan__name__icontains=q)
                           | Q(billing_point__connection_id__icontains=q))
        return render(request, "billing/subscription_list.html",
                      {"q": q, **page_context(paginate(request, qs, PAGE_SIZE))})


class SubscriptionFormView(OrganizationPortalMixin, View):
    def load(self, id: Any = None) -> Subscription | None:
        if id is None:
            return None
        return get_object_or_404(Subscription.objects.select_related("billing_point"),
                                 public_id=id)

    def form(self, sub: Subscription | None, data=None) -> forms.SubscriptionForm:
        initial = {}
        if sub is not None:
            initial = {"billing_point": sub.billing_point.public_id, "plan": sub.plan.public_id,
                       "variant": sub.variant.public_id if sub.variant else None,
                       "start_date": sub.start_date, "end_date": sub.end_date, "note": sub.note,
                       "batch": sub.batch.public_id if sub.batch_id else None}
        if sub is None and self.request.GET.get("billing_point"):
            initial = {"billing_point": self.request.GET["billing_point"]}
        form = forms.SubscriptionForm(data, initial=initial)
        if sub is not None:
            form.fields["billing_point"].disabled = True
        return form

    def show(self, request, sub, form, status=200):
        return render(request, "billing/subscription_form.html",
                      {"form": form, "subscription": sub}, status=status)

    def get(self, request: HttpRequest, id: Any = None) -> HttpResponse:
        sub = self.load(id)
        return self.show(request, sub, self.form(sub))

    def post(self, request: HttpRequest, id: Any = None) -> HttpResponse:
        sub = self.load(id)
        form = self.form(sub, request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if sub is None:
                    sub = services.subscription_create(**data, **Actor.of(request).kwargs())
                else:
                    data.pop("billing_point")
                    sub = services.subscription_update(subscription=sub, **data,
                                                       **Actor.of(request).kwargs())
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc, prefix_unknown=True)
            else:
                messages.success(request, f"Saved the subscription of {sub.billing_point}.")
                return redirect("billing:subscription_list")
        return self.show(request, sub, form, status=400)


# --- preview --------------------------------------------------------------------------------


class PreviewView(OrganizationPortalMixin, View):
    """GET: choose a subscription and a period and see the dry run (any member).
    POST: create the draft invoices (managers), only when something can be billed."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not forms.PeriodForm.submitted(request.GET):  # opened from a link: filled in
            form = forms.PeriodForm(initial=forms.PeriodForm.initial_from(
                request.GET, organization_today(request)))
            return render(request, "billing/preview.html", {"form": form, "preview": None})
        form = forms.PeriodForm(request.GET)
        preview = None
        if form.is_valid():
            data = form.cleaned_data
            try:
                preview = services.invoice_preview(
                    subscriptions=form.subscriptions(), start=data["start"], end=data["end"]
                )
                attach_preview_fixes(preview.invoices)
            except ValidationError as exc:
                form_errors(form, exc, prefix_unknown=True)
        return render(request, "billing/preview.html", {"form": form, "preview": preview},
                      status=200 if form.is_valid() else 400)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.PeriodForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.invoice_create_draft(
                    subscriptions=form.subscriptions(), start=data["start"], end=data["end"],
                    **Actor.of(request).kwargs(),
                )
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc, prefix_unknown=True)
            else:
                messages.success(request, f"Created {len(created)} draft invoice(s).")
                if len(created) == 1:
                    return redirect("billing:invoice_detail", id=created[0].public_id)
                return redirect(reverse("billing:index") + "?status=draft")
        return render(request, "billing/preview.html", {"form": form, "preview": None},
                      status=400)
