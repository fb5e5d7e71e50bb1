"""A hand-built main meter with three sub-meters around the autumn DST day (Berlin), shared
by the loss tests and their Chromium test.

M (main, at the house connection) reads 6.25 kWh an hour, S-1/S-2/S-3 (flats of 50, 70,
80 m²) 1, 2 and 3 kWh an hour: every complete hour loses 6.25 − 6 = 0.25 kWh = 4.0 %.
Read every hour from 24 Oct 2026 00:00 local; M, S-1, S-2 until 27 Oct 01:00 local,
S-3 only until 26 Oct 12:00 local (its gateway went silent): 24 Oct (24 h) and 25 Oct
(the DST day, 25 h) are complete, 26 Oct lacks S-3 → incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from billspree.core.timefmt import local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from tests.readings.helpers import ingest

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 31, tzinfo=UTC)
H = timedelta(hours=1)
START = local_midnight(date(2026, 10, 24), BERLIN).astimezone(UTC)  # 23 Oct 22:00 UTC
HOURS = 24 + 25 + 24 + 1  # → 27 Oct 01:00 local
S3_HOURS = 24 + 25 + 12  # → 26 Oct 12:00 local


@dataclass
class LossWorld:
    prop: Property
    main: Meter
    subs: list[Meter]


def make_loss_world() -> LossWorld:
    prop = Property.objects.create(name="Gapstrasse", time_zone="Europe/Berlin")
    house = BillingPoint.objects.create(property=prop, connection_id="G-0",
                                        name="House connection",
                                        kind=BillingPoint.Kind.COMMON_AREA)
    main = _meter("M-1", "Gapstrasse main", house)
    subs = []
    for n, area in ((1, 50), (2, 70), (3, 80)):
        flat = BillingPoint.objects.create(property=prop, connection_id=f"G-{n}",
                                           name=f"Flat {n}", area_m2=Decimal(area),
                                           kind=BillingPoint.Kind.APARTMENT)
        subs.append(_meter(f"S-{n}", f"Flat {n}", flat, parent=main))
    rows = []
    for k in range(1, HOURS + 1):
        t = (START + k * H).isoformat()
        rows += [("M-1", t, str(Decimal("6.25") * k)), ("S-1", t, str(k)), ("S-2", t, str(2 * k))]
        if k <= S3_HOURS:
            rows.append(("S-3", t, str(3 * k)))
    outcome = ingest(*rows, now=NOW)
    assert outcome.counts["created"] == len(rows)
    return LossWorld(prop, main, subs)


def _meter(serial: str, label: str, bp: BillingPoint, parent: Meter | None = None) -> Meter:
    meter = Meter.objects.create(serial_number=serial, type=MeterType.ELECTRICITY, unit="kWh",
                                 label=label, register_digits=6, parent=parent)
    MeterAssignment.objects.create(meter=meter, billing_point=bp, connected_at=START,
                                   initial_reading=Decimal(0))
    return meter
