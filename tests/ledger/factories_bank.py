"""Bank import rows for one organization (isolation/role tests): one import with one
unmatched line, marked with ``world.marker``."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.utils import timezone

from billspree.core.timefmt import local_date
from ledger.models import BankImport, BankImportLine, BankLineStatus


def populate(world) -> None:
    imp = BankImport.objects.create(
        filename=f"bank-{world.marker}.csv",
        sha256=hashlib.sha256(world.marker.encode()).hexdigest(), lines_count=1,
        unmatched_count=1, totals={"CHF": "12.00"})
    line = BankImportLine.objects.create(
        bank_import=imp, row=2, amount=Decimal("12.00"), currency="CHF",
        booked_on=local_date(timezone.now(), world.org), remittance=f"Rent {world.marker}",
        payer_name=f"Payer {world.marker}", bank_reference=f"BR-{world.marker}",
        status=BankLineStatus.UNMATCHED, reason="no invoice has this reference")
    world.objects.update(bank_import=imp, bank_import_line=line)
