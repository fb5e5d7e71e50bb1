"""Demo readings: a year of monthly readings for every installed demo meter, and three
days of 15-minute readings for a few electricity meters, all through the ingestion service.

Every value is a sample of one smooth, increasing curve per meter (its rate varies a
little with the season), so the readings are consistent with each other whatever order
they arrive in, and running the seed again only finds duplicates: nothing changes.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from billspree.core.models import Organization
from meters.models import MeterAssignment, MeterType
from readings.models import Source, Upload
from readings.parsing import RowIn
from readings.services import reading_ingest, upload_finish

#: Typical use per day, by meter type, in the meter's default unit.
DAILY_USE = {
    MeterType.ELECTRICITY: 9.0,
    MeterType.GAS: 2.0,
    MeterType.COLD_WATER: 0.25,
    MeterType.HOT_WATER: 0.12,
    MeterType.HEAT: 12.0,
    MeterType.COOLING: 6.0,
}
FIFTEEN_MINUTE_METERS = 3
FIFTEEN_MINUTE_DAYS = 3
#: What a demo main meter measures beyond the sum of its sub-meters (4 %).
MAIN_METER_GAP = 0.04


def _factor(serial: str) -> float:
    """A stable 0.6–1.4 per meter, so demo meters do not all use the same."""
    return 0.6 + int(hashlib.sha256(serial.encode()).hexdigest()[:4], 16) / 0xFFFF * 0.8


def _used(a: MeterAssignment, at: datetime) -> float:
    """Register units a meter's seasonal, increasing curve has advanced since connection."""
    days = max((at - a.connected_at).total_seconds() / 86400, 0.0)
    rate = DAILY_USE.get(a.meter.type, 5.0) * _factor(a.meter.serial_number)
    return rate * (days + 0.1 * 365 / (2 * math.pi) * math.sin(2 * math.pi * days / 365))


def _register(a: MeterAssignment, at: datetime,
              subs: list[MeterAssignment] | None = None) -> Decimal:
    """The meter's register at an instant: initial value + a seasonal, increasing curve.

    A main meter (``subs``: its sub-meters' current assignments) measures what they
    measure plus :data:`MAIN_METER_GAP` (line losses and unmetered common use), so the
    loss page shows a plausible gap: its curve is the sub-meters' consumption (× their
    multipliers) × (1 + gap), in its own register units (÷ its multiplier).
    """
    if subs:
        used = (1 + MAIN_METER_GAP) * sum(_used(s, at) * float(s.meter.multiplier)
                                          for s in subs) / float(a.meter.multiplier)
    else:
        used = _used(a, at)
    cap = Decimal(10) ** a.meter.register_digits
    value = (a.initial_reading + Decimal(str(used))) % cap
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _month_starts(tz: ZoneInfo, today: datetime) -> list[datetime]:
    first = today.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = []
    for back in range(12, -1, -1):
        y, m = divmod(first.year * 12 + first.month - 1 - back, 12)
        starts.append(datetime(y, m + 1, 1, tzinfo=tz))
    return starts


def _sub_assignments(assignments: list[MeterAssignment]) -> dict[int, list[MeterAssignment]]:
    """Each main meter's sub-meters' (current) assignments, from the list in hand."""
    subs: dict[int, list[MeterAssignment]] = {}
    for a in assignments:
        if a.meter.parent_id is not None:
            subs.setdefault(a.meter.parent_id, []).append(a)
    return subs


def _monthly_rows(assignments: list[MeterAssignment], now: datetime) -> list[RowIn]:
    subs = _sub_assignments(assignments)
    rows = []
    for a in assignments:
        tz = ZoneInfo(str(a.billing_point.property.time_zone))
        for at in _month_starts(tz, now.astimezone(tz)):
            if a.connected_at <= at <= now:
                rows.append(
                    RowIn(
                        len(rows) + 1, a.meter.serial_number, at.astimezone(UTC),
                        _register(a, at, subs.get(a.meter_id)),
                    )
                )
    return rows


def _quarter_hour_rows(assignments: list[MeterAssignment], now: datetime) -> list[RowIn]:
    electric = [a for a in assignments if a.meter.type == MeterType.ELECTRICITY][
        :FIFTEEN_MINUTE_METERS
    ]
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    subs = _sub_assignments(assignments)
    rows = []
    for a in electric:
        at = max(end - timedelta(days=FIFTEEN_MINUTE_DAYS), a.connected_at)
        while at < end:
            rows.append(RowIn(len(rows) + 1, a.meter.serial_number, at,
                              _register(a, at, subs.get(a.meter_id))))
            at += timedelta(minutes=15)
    return rows


def _upload(org: Organization, source: str, name: str) -> Upload:
    upload, _ = Upload.objects.get_or_create(
        source=source,
        filename=name,
        defaults={"organization": org, "status": Upload.Status.DONE, "all_or_nothing": False},
    )
    return upload


def seed(org: Organization) -> None:
    now = datetime.now(UTC)
    assignments = list(
        MeterAssignment.objects.filter(removed_at__isnull=True)
        .select_related("meter", "billing_point__property")
        .order_by("meter__serial_number")
    )
    if not assignments:
        return
    for source, name, rows in (
        (Source.UPLOAD, "demo-monthly-readings.csv", _monthly_rows(assignments, now)),
        (Source.GATEWAY, "demo gateway polls", _quarter_hour_rows(assignments, now)),
    ):
        upload = _upload(org, source, name)
        outcome = reading_ingest(rows=rows, source=source, upload=upload, keep_results=False)
        if outcome.counts["created"]:  # a re-run only finds duplicates: keep the first counts
            upload_finish(upload, outcome)
