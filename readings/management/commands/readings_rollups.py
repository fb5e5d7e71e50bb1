"""Rebuild the daily and monthly consumption rollups of a range of local days."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from readings.services import consumption_rollups_rebuild


class Command(BaseCommand):
    help = (
        "Recompute consumption rollups for [--from, --to] (local dates, inclusive) of every "
        "meter (or --meter) of every organization (or --organization). Ingestion keeps "
        "rollups current; run this for readings stored before the rollups existed, or after "
        "an assignment's initial/final reading was edited."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", required=True, type=_date)
        parser.add_argument("--to", dest="last", required=True, type=_date)
        parser.add_argument("--organization", help="Organization id or public id")
        parser.add_argument("--meter", action="append", help="Meter serial number (repeatable)")

    def handle(self, *args, first: date, last: date, organization=None, meter=None, **options):
        if last < first:
            raise CommandError("--to must not be before --from.")
        for org in _organizations(organization):
            with organization_context(org):
                changed = consumption_rollups_rebuild(first=first, last=last, serials=meter)
            self.stdout.write(f"{org}: {changed} day(s) written")


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {raw!r}") from exc


def _organizations(ref: str | None):
    qs = Organization.objects.order_by("pk")
    if ref is None:
        return list(qs)
    found = qs.filter(pk=int(ref)) if ref.isdigit() else qs.filter(public_id=ref)
    if not found:
        raise CommandError(f"No organization {ref!r}.")
    return list(found)
