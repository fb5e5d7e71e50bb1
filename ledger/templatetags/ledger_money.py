"""``{% invoice_ledger invoice as money %}``: an invoice's paid, open and status from the
ledger, for billing's invoice page (billing's Python never imports the ledger; its
template includes ``ledger/_invoice_money.html``, which loads this)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from billspree.core.timefmt import local_date
from ledger.models import LedgerEntry
from ledger.selectors.invoices import invoices_money

register = template.Library()


@register.simple_tag
def invoice_ledger(invoice):
    """{"money": InvoiceMoney, "account": Account} or None when the invoice is not on the
    ledger (a draft, or issued before the ledger existed)."""
    if invoice is None or not getattr(invoice, "pk", None):
        return None
    today = local_date(timezone.now(), invoice.organization)
    money = invoices_money([invoice.pk], today).get(invoice.pk)
    if money is None:
        return None
    entry = LedgerEntry.objects.select_related("account").get(pk=money.entry_id)
    return {"money": money, "account": entry.account}


@register.filter
def neg(value):
    """``-value`` (a credit shown as a positive number in its own column)."""
    try:
        return -value
    except TypeError:
        return value
