"""Rebuilding the daily/monthly consumption rollups on request (a command, a task)."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from billspree.core.scoping import require_organization
from meters.models import Meter
from readings import rollups


def consumption_rollups_rebuild(
    *,
    first: date,
    last: date,
    serials: list[str] | None = None,
    meter_ids: list[int] | None = None,
) -> int:
    """Recompute the daily/monthly consumption rollups of [first, last] (local dates) for
    the organization's meters (or the given serial numbers / ids); returns days written."""
    org = require_organization()
    meters = Meter.objects.all()
    if serials:
        meters = meters.filter(serial_number__in=serials)
    if meter_ids is not None:
        meters = meters.filter(id__in=meter_ids)
    zones = rollups.meter_zones(meters.values_list("id", flat=True), org.time_zone)
    with transaction.atomic():
        return rollups.rollups_rebuild(organization_id=org.pk, zones=zones, first=first, last=last)
