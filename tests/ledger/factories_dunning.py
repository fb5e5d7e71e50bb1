"""Dunning rows for one organization (the isolation and role tests use them): a ladder
level, a notice with its letter and fee for an overdue invoice, a dispute, all marked
with ``world.marker``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ledger.models import DunningNotice, EntryKind, InvoiceDispute, LedgerEntry
from ledger.services import dunning


def populate(world) -> None:
    level = dunning.dunning_level_create(
        position=1, name=f"Reminder {world.marker}", days_overdue=10,
        fee_amount=Decimal("5.00"), fee_tax_rate=Decimal("8.1"),
        letter_title=f"Reminder {world.marker} {{invoice}}")
    issued = world.objects["issued_invoice"]
    entry = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=issued)
    dunning.dunning_run(today=entry.due_on + timedelta(days=10))
    notice = DunningNotice.objects.filter(invoice=issued).first()
    dispute = dunning.dispute_open(invoice=issued, reason=f"Contested {world.marker}")
    world.objects.update(dunning_level=level, dunning_notice=notice, invoice_dispute=dispute)
    assert notice is not None and InvoiceDispute.objects.filter(pk=dispute.pk).exists()
