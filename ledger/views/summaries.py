"""Portal pages of parent summaries: the list (filter by period, parent), one summary (its
children, their invoices with what is still open, subtotals, the payments quoting its
reference), its PDF, and "Create summaries for a period" behind a confirmation
(managers; viewers read). The tenant portal's PDF of a parent tenant's own summary is
here too (``MySummaryPdfView``: the tenant scope "ledger_summary")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin, organization_today, role_allows
from billspree.core.portal_forms import form_errors
from billspree.core.portal_pages import page_context, paginate
from billspree.core.portal_views import ActorMixin, confirmed
from ledger.forms import parse_day
from ledger.models import Account, ParentSummary, Payment
from ledger.selectors.accounts import account_payments
from ledger.selectors.summaries import (
    summaries_filtered,
    summaries_preview,
    summaries_queryset,
    summary_blocks,
    summary_filename,
    summary_pdf,
    summary_period,
)
from ledger.services.summaries import parent_summaries_create
from ledger.views.accounts import _uuid_lookup
from tenants.portal import TenantPortalMixin

NAV = {"nav_section": "ledger"}


def pdf_response(summary: ParentSummary) -> HttpResponse:
    response = HttpResponse(summary_pdf(summary), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{summary_filename(summary)}"'
    return response


def parent_accounts():
    """Accounts that receive their children's bills (the form's choice of parent)."""
    return (Account.objects.filter(children__isnull=False).distinct()
            .select_related("tenant").order_by("tenant__name", "currency"))


class SummaryListView(OrganizationPortalMixin, View):
    """Summaries, newest period first; ``?start=&end=`` (local dates: periods overlapping
    them) and ``?account=`` (a parent's public id)."""

    model = ParentSummary

    def get(self, request: HttpRequest) -> HttpResponse:
        g = request.GET
        start, end = parse_day(g.get("start", "")), parse_day(g.get("end", ""))
        account = _uuid_lookup(Account, g.get("account", ""))
        qs = (ParentSummary.objects.none() if g.get("account") and account is None
              else summaries_filtered(account=account, start=start, end=end))
        page = paginate(request, qs, 50)
        return render(request, "ledger/summaries/list.html", {
            **NAV, **page_context(page, rows="summaries"), "start": start, "end": end,
            "account": account, "filtered": any(g.get(k) for k in ("start", "end", "account")),
            "can_create": role_allows(request.role, SummaryCreateView),
            "bad_period": bool(start and end and end < start),
        })


class SummaryDetailView(OrganizationPortalMixin, View):
    model = ParentSummary

    def get(self, request: HttpRequest, id) -> HttpResponse:
        summary = get_object_or_404(summaries_queryset(), public_id=id)
        today = organization_today(request)
        blocks = summary_blocks(summary, today)
        payments = Payment.objects.filter(reference=summary.payment_reference).select_related(
            "account__tenant").order_by("received_on", "pk") if summary.payment_reference \
            else Payment.objects.none()
        return render(request, "ledger/summaries/detail.html", {
            **NAV, "summary": summary, "blocks": blocks, "period": summary_period(summary),
            "payments": account_payments(payments), "today": today,
            "can_record": Role.at_least(request.role, Role.MANAGER),
        })


class SummaryPdfView(OrganizationPortalMixin, View):
    model = ParentSummary

    def get(self, request: HttpRequest, id) -> HttpResponse:
        summary = get_object_or_404(
            ParentSummary.objects.select_related("account__tenant", "organization"),
            public_id=id)
        return pdf_response(summary)


class SummaryCreateForm(forms.Form):
    first_day = forms.DateField(label="First day", widget=forms.DateInput(
        attrs={"type": "date"}), help_text="Invoices issued on this day or later (local date).")
    last_day = forms.DateField(label="Last day", widget=forms.DateInput(
        attrs={"type": "date"}), help_text="…and on this day or earlier (inclusive).")
    parent = forms.ModelChoiceField(
        queryset=Account.objects.none(), required=False, to_field_name="public_id",
        empty_label="Every parent account",
        help_text="Only this parent account (leave empty for all of them).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parent_accounts()
        self.fields["parent"].label_from_instance = (
            lambda a: f"{a.tenant.name} ({a.currency})")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", "The period ends before it starts.")
        return data


class SummaryCreateView(ActorMixin, OrganizationPortalMixin, View):
    """Managers: the form, then a confirmation saying what will be summarised, then the
    service (which writes the audit trail). Viewers cannot open it."""

    model = ParentSummary
    read_role = Role.MANAGER
    template_name = "ledger/summaries/create.html"

    def page(self, form, status: int = 200, **extra: Any) -> HttpResponse:
        return render(self.request, self.template_name, {**NAV, "form": form, **extra},
                      status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        today = organization_today(request)
        start = today.replace(day=1)
        return self.page(SummaryCreateForm(initial={"first_day": start, "last_day": today}))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SummaryCreateForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        d = form.cleaned_data
        if not confirmed(request):
            return self.page(form, confirm=True, preview=summaries_preview(
                first_day=d["first_day"], last_day=d["last_day"], parent=d["parent"]))
        try:
            made = parent_summaries_create(first_day=d["first_day"], last_day=d["last_day"],
                                           parent=d["parent"], **self.actor.kwargs())
        except (ValidationError, Conflict) as exc:
            form_errors(form, exc)
            return self.page(form, status=400)
        if not made:
            messages.info(request, "No parent account had invoices issued in that period: "
                                   "nothing was created.")
            return redirect("ledger:summary_list")
        messages.success(request, f"{len(made)} summar{'y' if len(made) == 1 else 'ies'} "
                                  f"for {summary_period(made[0])}.")
        if len(made) == 1:
            return redirect("ledger:summary_detail", made[0].public_id)
        return redirect(reverse("ledger:summary_list") + f"?start={d['first_day'].isoformat()}"
                        f"&end={d['last_day'].isoformat()}")


class MySummaryPdfView(TenantPortalMixin, View):
    """A parent tenant's own summary as a PDF (another tenant's id answers 404)."""

    scope = "ledger_summary"

    def get(self, request: HttpRequest, id) -> HttpResponse:
        summary = self.get_object()
        return pdf_response(summary)

