"""Issued invoices of any total for ledger tests, written the short way (the engine is
tested on its own): one manual line, issued through billing's service so the ledger posts
them as in production."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from billing import services
from billing.models import Invoice, InvoiceLine, LineKind

BERLIN = ZoneInfo("Europe/Berlin")
_day = count(0)


def draft(tenant, billing_point, total: str | Decimal, *, currency: str = "EUR",
          day: int | None = None) -> Invoice:
    total = Decimal(total)
    start = datetime(2024, 1, 1, tzinfo=BERLIN) + timedelta(days=next(_day) if day is None
                                                            else day)
    inv = Invoice.objects.create(
        tenant=tenant, billing_point=billing_point, period_start=start,
        period_end=start + timedelta(days=1), currency=currency, net_total=total,
        tax_total=Decimal("0"), total=total)
    InvoiceLine.objects.create(
        invoice=inv, position=1, kind=LineKind.MANUAL, description="Service charge",
        quantity=Decimal("1"), unit_price=total, amount=total)
    return inv


def issued(tenant, billing_point, total: str | Decimal, **kwargs) -> Invoice:
    return services.invoice_issue(invoice=draft(tenant, billing_point, total, **kwargs))
