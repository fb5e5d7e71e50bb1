"""Ledger rows for one organization (the isolation test uses them): the billing populator
issued invoices and a credit note (their entries and accounts exist); here a payment with
its allocation, marked with ``world.marker``."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from billspree.core.timefmt import local_date
from ledger.models import Account, Allocation, LedgerEntry
from ledger.services.payments import payment_record


def populate(world) -> None:
    issued = world.objects["issued_invoice"]
    account = Account.objects.get(tenant=issued.tenant, currency=issued.currency)
    payment, _ = payment_record(
        account=account, amount=Decimal("5.00"), received_on=local_date(timezone.now(),
                                                                        world.org),
        reference=f"Ref {world.marker}", payer_name=f"Payer {world.marker}",
        note=f"Payment {world.marker}", invoices=[(issued.pk, None)],
    )
    world.objects.update(
        account=account, payment=payment,
        ledger_entry=LedgerEntry.objects.get(payment=payment),
        allocation=Allocation.objects.filter(credit__payment=payment).first(),
    )
