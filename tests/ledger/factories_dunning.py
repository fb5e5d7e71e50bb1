"""Dunning rows for one organization (the isolation and role tests use them): a ladder
level, a recorded run that sent a notice with its letter and fee for an overdue invoice,
a resend of that letter, a dispute, all marked with ``world.marker``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

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
from ledger.services.dunning_runs import dunning_notice_resend


def populate(world) -> None:
    level = dunning.dunning_level_create(
        position=1, name=f"Reminder {world.marker}", days_overdue=10,
        fee_amount=Decimal("5.00"), fee_tax_rate=Decimal("8.1"),
        letter_title=f"Reminder {world.marker} {{invoice}}")
    issued = world.objects["issued_invoice"]
    entry = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=issued)
    day = entry.due_on + timedelta(days=10)
    # a run of a day still to come (the invoice was issued today): recorded here by hand,
    # since starting one refuses future days; the sending is the real service
    run = DunningRun.objects.create(run_on=day, trigger=DunningRunTrigger.SCHEDULE,
                                    status=DunningRunStatus.RUNNING)
    dunning.dunning_run(today=day, run=run)
    DunningRun.objects.filter(pk=run.pk).update(status=DunningRunStatus.DONE)
    notice = DunningNotice.objects.filter(invoice=issued).first()
    assert notice is not None and notice.run_id == run.pk
    if notice.account.tenant.email:
        delivery = dunning_notice_resend(notice=notice)
    else:
        delivery = DunningDelivery.objects.create(notice=notice,
                                                  recipient=f"{world.marker.lower()}@example.org")
    dispute = dunning.dispute_open(invoice=issued, reason=f"Contested {world.marker}")
    world.objects.update(dunning_level=level, dunning_notice=notice, invoice_dispute=dispute,
                         dunning_run=run, dunning_delivery=delivery)
    assert InvoiceDispute.objects.filter(pk=dispute.pk).exists()
