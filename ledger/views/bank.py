"""Portal pages of bank files: upload (managers), the imports with their row report, and
the review queue where a manager matches what no reference matched."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billing.models import Invoice, InvoiceStatus
from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import error_text
from billspree.core.portal_pages import page_context, paginate
from ledger.models import BankImport, BankImportLine, BankLineStatus, EntryKind
from ledger.selectors.accounts import open_debits
from ledger.selectors.tenant_money import with_ledger_state
from ledger.services.bank_imports import (
    bank_import_create,
    bank_line_ignore,
    bank_line_match,
    repeat_message,
)

NAV = {"nav_section": "ledger"}
MAX_BYTES = 50 * 1024 * 1024


class BankFileForm(forms.Form):
    file = forms.FileField(label="Bank file", help_text="camt.053 or camt.054 (XML) from "
                           "e-banking, or a CSV with date, amount, currency, reference.")

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_BYTES:
            raise ValidationError("The file is larger than 50 MB.")
        return f


class BankImportListView(OrganizationPortalMixin, View):
    """The imported files, newest first, and the upload form (managers)."""

    model = BankImport

    def page(self, request, form, status=200):
        page = paginate(request, BankImport.objects.select_related("uploaded_by"), 25)
        waiting = BankImportLine.objects.filter(status=BankLineStatus.UNMATCHED).count()
        return render(request, "ledger/bank/import_list.html", {
            **NAV, **page_context(page), "form": form, "waiting": waiting}, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request, BankFileForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BankFileForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(request, form, status=400)
        upload = form.cleaned_data["file"]
        try:
            imp = bank_import_create(data=upload.read(), filename=upload.name or "",
                                     **Actor.of(request).kwargs())
        except ValidationError as exc:
            for message in exc.message_dict.get("file", []) or [error_text(exc)]:
                form.add_error("file", message)
            return self.page(request, form, status=400)
        if imp.repeat:
            messages.info(request, repeat_message(imp))
        else:
            messages.success(request, f"{imp.lines_count} lines read: {imp.matched_count} "
                             f"paid in, {imp.unmatched_count} to match by hand, "
                             f"{imp.duplicate_count} already imported.")
        return redirect("ledger:bank_import_detail", imp.public_id)


class BankImportDetailView(OrganizationPortalMixin, View):
    """One file's row report."""

    model = BankImport

    def get(self, request: HttpRequest, id) -> HttpResponse:
        imp = get_object_or_404(BankImport.objects.select_related("uploaded_by"), public_id=id)
        lines = imp.lines.select_related("invoice", "account__tenant", "payment")
        return render(request, "ledger/bank/import_detail.html",
                      {**NAV, "imp": imp, "lines": lines})


class BankReviewView(OrganizationPortalMixin, View):
    """Every line still waiting for a match, across files."""

    model = BankImportLine

    def get(self, request: HttpRequest) -> HttpResponse:
        qs = (BankImportLine.objects.filter(status=BankLineStatus.UNMATCHED)
              .select_related("bank_import").order_by("booked_on", "pk"))
        page = paginate(request, qs, 50)
        return render(request, "ledger/bank/review.html", {**NAV, **page_context(page)})


class BankLineMatchView(OrganizationPortalMixin, View):
    """Match one line by hand: search an invoice (number or tenant), confirm, pay it; or
    set the line aside with a reason (managers)."""

    model = BankImportLine
    read_role = Role.MANAGER

    def line(self, id) -> BankImportLine:
        return get_object_or_404(BankImportLine.objects.select_related("bank_import"),
                                 public_id=id)

    def candidates(self, request, line: BankImportLine, q: str):
        """Open invoices in the line's currency: those matching ``q`` (number or tenant),
        else those whose total or whose rest (a part-paid invoice) is the line's amount;
        each with ``money`` (paid, open)."""
        qs = (Invoice.objects.filter(status=InvoiceStatus.ISSUED, currency=line.currency)
              .select_related("tenant").order_by("-issued_at"))
        if q:
            qs = qs.filter(Q(number__icontains=q) | Q(tenant__name__icontains=q))
        else:
            rest = open_debits().filter(kind=EntryKind.INVOICE, open=line.amount)
            qs = qs.filter(Q(total=line.amount) | Q(pk__in=rest.values("invoice_id")))
        return with_ledger_state(qs[:20], organization_today(request))

    def page(self, request, line, error="", status=200):
        q = request.GET.get("q", "").strip()[:100]
        return render(request, "ledger/bank/match.html", {
            **NAV, "line": line, "q": q, "candidates": self.candidates(request, line, q),
            "error": error}, status=status)

    def get(self, request: HttpRequest, id) -> HttpResponse:
        return self.page(request, self.line(id))

    def post(self, request: HttpRequest, id) -> HttpResponse:
        line = self.line(id)
        try:
            if request.POST.get("action") == "ignore":
                bank_line_ignore(line=line, reason=request.POST.get("reason", ""),
                                 **Actor.of(request).kwargs())
                messages.success(request, f"Row {line.row} set aside.")
            else:
                invoice = Invoice.objects.filter(
                    public_id=request.POST.get("invoice") or None).first() \
                    if _is_uuid(request.POST.get("invoice", "")) else None
                if invoice is None:
                    raise ValidationError({"invoice": ["Choose the invoice this pays."]})
                row = bank_line_match(line=line, invoice=invoice, **Actor.of(request).kwargs())
                messages.success(request, f"Row {row.row}: {row.amount:.2f} {row.currency} "
                                 f"paid in on invoice {invoice.number}.")
        except (ValidationError, Conflict) as exc:
            return self.page(request, line, error=error_text(exc), status=400)
        return redirect(reverse("ledger:bank_review"))


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
