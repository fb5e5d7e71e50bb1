"""Demo money: a reminder ladder, and the payments people really make — one in part, one
by a bank file whose last line no reference matches, waiting for the manager."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from billing.models import Invoice, InvoiceStatus
from billspree.core.timefmt import local_date
from ledger.models import BankImport, DunningLevel
from ledger.selectors.invoices import invoice_open_amount
from ledger.services.bank_imports import bank_import_create
from ledger.services.dunning import dunning_level_create
from ledger.services.payments import payment_record

LADDER = [
    {"position": 1, "name": "Reminder", "days_overdue": 10},
    {"position": 2, "name": "Second reminder", "days_overdue": 20, "fee_amount": Decimal("10.00"),
     "fee_tax_rate": Decimal("0")},
    {"position": 3, "name": "Final notice", "days_overdue": 30, "fee_amount": Decimal("20.00"),
     "fee_tax_rate": Decimal("0"), "disconnection_pending": True},
]


def seed(org) -> None:
    if not DunningLevel.objects.exists():
        for level in LADDER:
            dunning_level_create(**level)
    if BankImport.objects.exists():
        return
    today = local_date(timezone.now(), org)
    open_invoices = list(Invoice.objects.filter(status=InvoiceStatus.ISSUED)
                         .exclude(payment_reference="").select_related("tenant")
                         .order_by("issued_at", "number")[:3])
    if len(open_invoices) < 2:
        return
    part = open_invoices[0]
    left, account = invoice_open_amount(part)
    if account is None or left <= 2:
        return
    half = (left / 2).quantize(Decimal("0.01"))
    payment_record(account=account, amount=half, received_on=today,
                   reference=part.payment_reference, note="Demo: paid in part")
    rows = ["date;amount;currency;reference;remittance;payer_name;bank_reference"]
    for n, inv in enumerate(open_invoices[1:], start=1):
        rows.append(f"{today.isoformat()};{inv.total:.2f};{inv.currency};"
                    f"{inv.payment_reference};;{inv.tenant.name};DEMO-{org.pk}-{n}")
    # the rest of the part-paid invoice, sent without its reference: left for the manager
    rows.append(f"{today.isoformat()};{left - half:.2f};{part.currency};;"
                f"rest of the bill;{part.tenant.name};DEMO-{org.pk}-9")
    bank_import_create(data="\n".join(rows).encode(), filename="demo-bank-file.csv")
