"""Ledger rows for one organization (the isolation test uses them): the billing populator
issued invoices and a credit note (their entries and accounts exist); here a payment with
its allocation, marked with ``world.marker``."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from billspree.core.timefmt import local_date
from ledger.models import Account, Allocation, LedgerEntry
from ledger.services.accounts import account_for_tenant, account_set_parent
from ledger.services.payments import payment_record
from ledger.services.summaries import parent_summaries_create
from tenants import services as tenant_services


def populate(world) -> None:
    issued = world.objects["issued_invoice"]
    account = Account.objects.get(tenant=issued.tenant, currency=issued.currency)
    payment, _ = payment_record(
        account=account, amount=Decimal("5.00"), received_on=local_date(timezone.now(),
                                                                        world.org),
        reference=f"Ref {world.marker}", payer_name=f"Payer {world.marker}",
        note=f"Payment {world.marker}", invoices=[(issued.pk, None)],
    )
    group = tenant_services.tenant_create(name=f"Group {world.marker}")
    parent = account_for_tenant(group, str(issued.currency))
    account_set_parent(account=account, parent=parent)
    # the invoice is booked on its local issue day where its property is (Berlin), which
    # is not the organization's (UTC) between 23:00 and 24:00 UTC
    day = local_date(issued.issued_at, issued.billing_point.property.time_zone)
    [summary] = parent_summaries_create(first_day=day, last_day=day)
    world.objects.update(
        parent_account=parent, parent_summary=summary,
        parent_summary_item=summary.items.first(),
        account=account, payment=payment,
        ledger_entry=LedgerEntry.objects.get(payment=payment),
        allocation=Allocation.objects.filter(credit__payment=payment).first(),
    )
