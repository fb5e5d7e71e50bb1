"""The tenant portal's money pages (``/my/``, namespace ``my_ledger``): the tenant's balance,
what is due and by when, their invoices with the ledger's status (a partly paid invoice
says what is left), their payments, and the statement of account as a PDF.

Every view inherits :class:`tenants.portal.TenantPortalMixin` and reads through the
tenant scopes of :mod:`ledger.selectors.tenant_money` ("ledger_account", "ledger_payment")
and billing's "invoice": another tenant's account answers 404 like a random id.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from billspree.core.portal_pages import page_context, paginate
from billspree.core.timefmt import local_date
from ledger.forms import period_from
from ledger.selectors import summaries as _summaries  # noqa: F401  (its tenant scope)
from ledger.selectors.accounts import account_payments, account_statement
from ledger.selectors.tenant_money import tenant_money, with_ledger_state
from ledger.statements import statement_filename, statement_pdf
from tenants.portal import TenantPortalMixin


class MoneyPage(TenantPortalMixin, TemplateView):
    def today(self):
        return local_date(timezone.now(), self.request.tenant_access.organization)


class BalanceCardView(MoneyPage):
    """The home page's money card (loaded by htmx: tenants cannot import the ledger):
    balance, amount due and the next due date."""

    template_name = "ledger/my/_balance_card.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx["money"] = tenant_money(self.scoped("ledger_account"), self.today())
        return ctx


class AccountView(MoneyPage):
    """Balance and due per account, the invoices with their ledger status, payments."""

    template_name = "ledger/my/account.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        today = self.today()
        page = paginate(self.request, self.scoped("invoice"), 20)
        invoices = with_ledger_state(page.object_list, today)
        payments = account_payments(self.scoped("ledger_payment")[:50])
        form, start, end = period_from(self.request.GET, today)
        ctx.update(money=tenant_money(self.scoped("ledger_account"), today),
                   invoices=invoices, payments=payments, period_form=form, start=start,
                   end=end, today=today, **page_context(page, rows="invoice_rows"))
        ctx["open_invoices"] = [i for i in invoices if i.money and i.money.open > 0
                                and i.status != "void"]
        ctx["settled_invoices"] = [i for i in invoices if i not in ctx["open_invoices"]]
        ctx["summaries"] = list(self.scoped("ledger_summary")[:24])  # a parent's summaries
        ctx["reminders"] = self.scoped("ledger_dunning_notice")[:50]
        return ctx


class StatementPdfView(TenantPortalMixin, View):
    """The statement of account of one of the tenant's accounts for ``?start=&end=``."""

    scope = "ledger_account"

    def get(self, request: HttpRequest, id) -> HttpResponse:
        account = self.get_object()
        today = local_date(timezone.now(), request.tenant_access.organization)
        _, start, end = period_from(request.GET, today)
        statement = account_statement(account, start, end)
        response = HttpResponse(statement_pdf(statement), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{statement_filename(statement)}"'
        return response
