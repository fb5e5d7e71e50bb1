"""``manage.py ledger_backfill``: post documents issued before the ledger (see
``ledger.services.backfill``), for every organization; safe to run again."""

from django.core.management.base import BaseCommand

from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from ledger.services.backfill import ledger_backfill


class Command(BaseCommand):
    help = "Post invoices and credit notes issued before the ledger existed (idempotent)."

    def handle(self, *args, **options) -> None:
        for org in Organization.objects.order_by("pk"):
            with organization_context(org):
                counts = ledger_backfill()
            self.stdout.write(f"{org.name}: " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                                          for k, v in counts.items()))
