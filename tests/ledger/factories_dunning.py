"""Dunning rows for one organization (the isolation and role tests use them): a ladder
level, a recorded run that sent a notice with its letter and fee for an overdue invoice,
a resend of that letter, a dispute, all marked with ``world.marker``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billspree.core.ledger_hooks import documents_issued
from billspree.core.timefmt import local_date
from ledger.models import (
    DunningDelivery,
    DunningNotice,
    DunningRun,
    DunningRunStatus,
    DunningRunTrigger,
    EntryKind,
    InvoiceDispute,
    LedgerEntry,
)
from ledger.services import dunning
from ledger.services.accounts import account_for_tenant
from ledger.services.dunning_runs import dunning_notice_resend
from ledger.services.posting import Posting, post
from ledger.services.postings_from_billing import on_documents_issued
from tests.ledger.builders import issued


def populate(world) -> None:
    level = dunning.dunning_level_create(
        position=1, name=f"Reminder {world.marker}", days_overdue=10,
        fee_amount=Decimal("5.00"), fee_tax_rate=Decimal("8.1"),
        letter_title=f"Reminder {world.marker} {{invoice}}")
    invoice = world.objects["issued_invoice"]
    entry = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=invoice)
    day = entry.due_on + timedelta(days=10)
    # a run of a day still to come (the invoice was issued today): recorded here by hand,
    # since starting one refuses future days; the sending is the real service
    run = DunningRun.objects.create(run_on=day, trigger=DunningRunTrigger.SCHEDULE,
                                    status=DunningRunStatus.RUNNING)
    dunning.dunning_run(today=day, run=run)
    DunningRun.objects.filter(pk=run.pk).update(status=DunningRunStatus.DONE)
    notice = DunningNotice.objects.filter(invoice=invoice).first()
    assert notice is not None and notice.run_id == run.pk
    if notice.account.tenant.email:
        delivery = dunning_notice_resend(notice=notice)
    else:
        delivery = DunningDelivery.objects.create(notice=notice,
                                                  recipient=f"{world.marker.lower()}@example.org")
    dispute = dunning.dispute_open(invoice=invoice, reason=f"Contested {world.marker}")
    world.objects.update(dunning_level=level, dunning_notice=notice, invoice_dispute=dispute,
                         dunning_run=run, dunning_delivery=delivery)
    assert InvoiceDispute.objects.filter(pk=dispute.pk).exists()


def org_today(org):
    return local_date(timezone.now(), org)


def overdue(house, total: str, days_late: int, org):
    """An invoice issued earlier whose due date was ``days_late`` days before today: issued
    through billing, then posted on the ledger with that due date (as the upgrade path posts
    invoices issued before the ledger existed)."""
    documents_issued.disconnect(dispatch_uid="ledger.documents_issued")
    try:
        inv = issued(house.tenant, house.bp, total)
    finally:
        documents_issued.connect(on_documents_issued, dispatch_uid="ledger.documents_issued")
    due = org_today(org) - timedelta(days=days_late)
    account = account_for_tenant(house.tenant, "EUR")
    with transaction.atomic():
        post([Posting(account_id=account.pk, kind=EntryKind.INVOICE, amount=inv.total,
                      booked_on=due - timedelta(days=30), due_on=due, invoice_id=inv.pk,
                      description=f"Invoice {inv.number}")])
    return inv
