"""Portal pages of payments: the list, recording one by hand on an account (managers), and
reversing one behind a confirmation with a reason (managers)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.views import View

from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import error_text
from billspree.core.portal_pages import page_context, paginate
from billspree.core.portal_views import ConfirmView, ServiceFormView, confirmed
from billspree.core.timefmt import format_day
from ledger.forms import EntryForm, PaymentForm, ReverseForm, parse_day
from ledger.models import Account, EntryKind, LedgerEntry, Payment, PaymentMethod
from ledger.selectors.accounts import account_payments, open_items
from ledger.services.entries import entry_record
from ledger.services.payments import payment_record, payment_reverse

NAV = {"nav_section": "ledger"}


class PaymentListView(OrganizationPortalMixin, View):
    """Payments received, newest first; ``?start=&end=`` (local dates), ``currency``,
    ``method``, ``q`` (reference, payer, tenant): the list behind "collected"."""

    model = Payment

    def get(self, request: HttpRequest) -> HttpResponse:
        g = request.GET
        qs = Payment.objects.select_related("account__tenant").order_by("-received_on", "-pk")
        start, end = parse_day(g.get("start", "")), parse_day(g.get("end", ""))
        if start:
            qs = qs.filter(received_on__gte=start)
        if end:
            qs = qs.filter(received_on__lte=end)
        currency = g.get("currency", "").strip().upper()[:3]
        if currency:
            qs = qs.filter(currency=currency)
        method = g.get("method", "") if g.get("method", "") in PaymentMethod.values else ""
        if method:
            qs = qs.filter(method=method)
        q = g.get("q", "").strip()[:100]
        if q:
            qs = qs.filter(Q(reference__icontains=q) | Q(payer_name__icontains=q)
                           | Q(account__tenant__name__icontains=q)
                           | Q(remittance__icontains=q))
        page = paginate(request, qs, 50)
        rows = account_payments(page.object_list)
        return render(request, "ledger/payment_list.html", {
            **NAV, **page_context(page, rows="page_rows"), "rows": rows, "start": start,
            "end": end, "currency": currency, "method": method, "q": q,
            "methods": PaymentMethod.choices,
            "filtered": any([start, end, currency, method, q]),
        })


class PaymentRecordView(ServiceFormView):
    """Record a payment received for the account (managers only, the form too)."""

    model = Account
    read_role = Role.MANAGER
    template_name = "ledger/payment_form.html"
    extra_context = NAV
    error_names = {"received_on": "received_on", "allocations": "allocation",
                   "amount": "amount", "method": "method"}

    def _load(self, id) -> None:
        self.account = get_object_or_404(Account.objects.select_related("tenant"), public_id=id)

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self._load(kwargs["id"])
        return super().get(request, **kwargs)

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self._load(kwargs["id"])
        return super().post(request, **kwargs)

    def make_form(self, data: Any = None) -> PaymentForm:
        self.items = open_items(self.account, organization_today(self.request))
        return PaymentForm(data, initial=self.initial(), items=self.items)

    def initial(self) -> dict[str, Any]:
        return {"received_on": organization_today(self.request)}

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        return super().context(form, account=self.account, items=self.items, **extra)

    def save(self, form: PaymentForm) -> Payment:
        d = form.cleaned_data
        payment, _ = payment_record(
            account=self.account, amount=d["amount"], received_on=d["received_on"],
            method=d["method"], reference=d["reference"], note=d["note"],
            invoices=d["invoices"], **self.actor.kwargs())
        self.received = d["amount"]
        return payment

    def success_message(self, payment: Payment) -> str:
        self.account.refresh_from_db()
        balance = f"Balance now {self.account.balance:.2f} {self.account.currency}."
        if payment.account_id != self.account.pk or payment.amount != self.received:
            # it quoted one of this parent account's summaries: split over the children
            return (f"Payment of {self.received:.2f} {payment.currency} quotes summary "
                    f"reference {payment.reference}: it was split over the children's "
                    f"invoices on that summary (see the summary for each part). {balance}")
        return f"Payment of {payment.amount:.2f} {payment.currency} recorded. {balance}"

    def success_url(self, payment: Payment) -> str:
        return reverse("ledger:account_detail", args=[self.account.public_id])


class EntryBookView(ServiceFormView):
    """Book a write-off, refund, adjustment or opening balance on the account (managers)."""

    model = Account
    read_role = Role.MANAGER
    template_name = "ledger/entry_form.html"
    extra_context = NAV

    @cached_property
    def account(self) -> Account:
        return get_object_or_404(Account.objects.select_related("tenant"),
                                 public_id=self.kwargs["id"])

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.account  # noqa: B018 - 404 before the form for an account not ours
        return super().get(request, **kwargs)

    def make_form(self, data: Any = None) -> EntryForm:
        items = open_items(self.account, organization_today(self.request))
        return EntryForm(data, initial={"booked_on": organization_today(self.request)},
                         items=items)

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        return super().context(form, account=self.account, **extra)

    def save(self, form: EntryForm) -> LedgerEntry:
        d = form.cleaned_data
        return entry_record(account=self.account, kind=d["kind"], amount=d["amount"],
                            booked_on=d["booked_on"], description=d["description"],
                            invoice=d["invoice"], **self.actor.kwargs())

    def success_message(self, entry: LedgerEntry) -> str:
        self.account.refresh_from_db()
        return (f"{entry.get_kind_display()} of {entry.amount:.2f} {self.account.currency} "
                f"booked. Balance now {self.account.balance:.2f} {self.account.currency}.")

    def success_url(self, entry: LedgerEntry) -> str:
        return reverse("ledger:account_detail", args=[self.account.public_id])


class PaymentReverseView(ConfirmView):
    """A payment bounced or was booked in error: reverse it, with a reason (managers)."""

    model = Payment
    read_role = Role.MANAGER
    queryset = Payment.objects.select_related("account__tenant")
    confirm_template = "ledger/payment_reverse.html"
    require_confirm = True

    def confirm_context(self, obj: Payment, form: ReverseForm | None = None) -> dict[str, Any]:
        [row] = account_payments([obj])
        return {**NAV, "object": obj, "row": row, "form": form or ReverseForm(),
                "already": LedgerEntry.objects.filter(
                    kind=EntryKind.PAYMENT_REVERSAL, payment=obj).exists()}

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        form = ReverseForm(request.POST)
        if not confirmed(request) or not form.is_valid():
            return render(request, self.confirm_template, self.confirm_context(obj, form),
                          status=400 if confirmed(request) else 200)
        try:
            payment_reverse(payment=obj, reason=form.cleaned_data["reason"],
                            **self.actor.kwargs())
        except (ValidationError, Conflict) as exc:
            form.add_error(None, error_text(exc))
            return render(request, self.confirm_template, self.confirm_context(obj, form),
                          status=400)
        messages.success(request, f"Payment of {obj.amount:.2f} {obj.currency} of "
                                  f"{format_day(obj.received_on)} reversed; its invoices are "
                                  "open again.")
        return redirect(self.success_url(obj))

    def success_url(self, obj: Payment) -> str:
        return reverse("ledger:account_detail", args=[obj.account.public_id])


__all__ = ["EntryBookView", "PaymentListView", "PaymentRecordView", "PaymentReverseView"]
