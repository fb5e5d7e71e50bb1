"""What a tenant sees of the ledger in the tenant portal (``/my/``): their own accounts and
payments only, registered as tenant scopes (see :mod:`tenants.portal`), so a view looks
rows up among the logged-in tenant's and another tenant's id answers 404."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import QuerySet

from ledger.models import Account, Payment
from ledger.selectors.accounts import account_totals
from ledger.selectors.invoices import InvoiceMoney, invoices_money
from tenants.models import Tenant
from tenants.portal import register_scope

ZERO = Decimal("0")


def tenant_accounts(tenant: Tenant) -> QuerySet[Account]:
    return Account.objects.filter(tenant=tenant).select_related("tenant", "organization")


def tenant_payments(tenant: Tenant) -> QuerySet[Payment]:
    return (Payment.objects.filter(account__tenant=tenant).select_related("account")
            .order_by("-received_on", "-pk"))


register_scope("ledger_account", tenant_accounts)
register_scope("ledger_payment", tenant_payments)


def tenant_money(accounts, today: date) -> list[dict]:
    """Per account: balance, amount due (never below zero), overdue, next due date."""
    return [{"account": a, **account_totals(a, today)} for a in accounts]


def with_ledger_state(invoices, today: date) -> list:
    """Each invoice with ``money`` (:class:`InvoiceMoney`, None when not on the ledger)."""
    invoices = list(invoices)
    money: dict[int, InvoiceMoney] = invoices_money([i.pk for i in invoices], today)
    for inv in invoices:
        inv.money = money.get(inv.pk)
    return invoices
