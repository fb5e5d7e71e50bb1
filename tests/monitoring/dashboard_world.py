"""The energy dashboard's known dataset (unit tests and the Chromium test share it).

Seehaus (Europe/Zurich), read at each local midnight from 1 Sep 2025:

=========  ==========  ======  =====================================  ===============
meter      type        where   use                                    last reading
=========  ==========  ======  =====================================  ===============
SE-E1      electricity Flat 1  1 kWh per *hour* (value = hours since   28 Oct 2026
                       50 m²   1 Sep 2025 00:00): a DST day uses 25    00:00 local
SE-E2      electricity Flat 2  5 kWh a day; a sub-meter (of SE-M0,     28 Oct 2026
           (sub-meter) 100 m²  unassigned) with a gap: no readings     00:00 local
                               26 Sep – 4 Oct 2026, the register
                               +100 over 25 Sep → 5 Oct 2026
SE-E3      electricity Shop    20 kWh a day                            28 Oct 2026
                       (no m²)                                         00:00 local
SE-W1      cold water  Flat 2  1 m³ a day                              27 Oct 2026 00:00
SE-H1      heat        Flat 1  10 kWh a day                            25 Oct 2026 00:00
SE-G1      gas         Shop    never read                              —
=========  ==========  ======  =====================================  ===============

Bergblick (Europe/Zurich): BB-E9 (electricity, Office, 200 m²) 100 kWh a day, read from
1 Oct 2026 00:00 to 28 Oct 2026 00:00 local.

The dashboard is looked at on NOW = 28 Oct 2026 11:00 Zurich (10:00 UTC) for October 2026:
last month is September 2026, the same month last year October 2025. DST ended on
26 Oct 2025 and 25 Oct 2026 (25-hour days).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from billspree.core.timefmt import local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from readings.parsing import RowIn
from readings.rollups import meter_zones, rollups_rebuild
from readings.services import reading_ingest

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 10, 28, 10, tzinfo=UTC)
FIRST_DAY = date(2025, 9, 1)
START = local_midnight(FIRST_DAY, ZURICH)
H = timedelta(hours=1)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _meter(serial, bp, type_, unit, parent=None, connected=START) -> Meter:
    meter = Meter.objects.create(serial_number=serial, type=type_, unit=unit,
                                 register_digits=7, parent=parent)
    if bp is not None:
        MeterAssignment.objects.create(meter=meter, billing_point=bp, connected_at=connected,
                                       initial_reading=Decimal(0))
    return meter


def _ingest(rows: list[tuple[str, datetime, Decimal]]) -> None:
    result = reading_ingest(rows=[RowIn(n + 1, s, at.isoformat(), str(v))
                                  for n, (s, at, v) in enumerate(rows)],
                            source="api", now=datetime(2026, 12, 31, tzinfo=UTC))
    assert not [r for r in result.results if r.status == "rejected"], result.results


def build(org) -> dict:
    """The dataset above, with its rollups rebuilt (the production path) over every day."""
    see = Property.objects.create(name="Seehaus", time_zone="Europe/Zurich")
    flat1 = BillingPoint.objects.create(property=see, connection_id="SE-1", name="Flat 1",
                                        area_m2=Decimal(50))
    flat2 = BillingPoint.objects.create(property=see, connection_id="SE-2", name="Flat 2",
                                        area_m2=Decimal(100))
    shop = BillingPoint.objects.create(property=see, connection_id="SE-3", name="Shop",
                                       kind=BillingPoint.Kind.SHOP)
    main = _meter("SE-M0", None, MeterType.ELECTRICITY, "kWh")
    _meter("SE-E1", flat1, MeterType.ELECTRICITY, "kWh")
    _meter("SE-E2", flat2, MeterType.ELECTRICITY, "kWh", parent=main)
    _meter("SE-E3", shop, MeterType.ELECTRICITY, "kWh")
    _meter("SE-W1", flat2, MeterType.COLD_WATER, "m³")
    _meter("SE-H1", flat1, MeterType.HEAT, "kWh")
    _meter("SE-G1", shop, MeterType.GAS, "m³")
    berg = Property.objects.create(name="Bergblick", time_zone="Europe/Zurich")
    office = BillingPoint.objects.create(property=berg, connection_id="BB-1", name="Office",
                                         area_m2=Decimal(200))
    oct1 = local_midnight(date(2026, 10, 1), ZURICH)
    _meter("BB-E9", office, MeterType.ELECTRICITY, "kWh", connected=oct1)

    rows = []
    gap = (date(2026, 9, 26), date(2026, 10, 4))
    e2 = Decimal(0)
    for n, day in enumerate(_days(FIRST_DAY, date(2026, 10, 28))):
        at = local_midnight(day, ZURICH)
        # 1 kWh an hour: real hours (in UTC; same-zone aware datetimes subtract wall times)
        rows.append(("SE-E1", at, Decimal((at.astimezone(UTC) - START.astimezone(UTC)) // H)))
        if day == date(2026, 10, 5):
            e2 += 100 - 5 * 9  # 25 Sep → 5 Oct: +100 in all (+5 a day up to 25 Sep)
        elif day > FIRST_DAY:
            e2 += 5
        if not gap[0] <= day <= gap[1]:
            rows.append(("SE-E2", at, e2))
        rows.append(("SE-E3", at, Decimal(20 * n)))
        if day <= date(2026, 10, 27):
            rows.append(("SE-W1", at, Decimal(n)))
        if day <= date(2026, 10, 25):
            rows.append(("SE-H1", at, Decimal(10 * n)))
        if day >= date(2026, 10, 1):
            rows.append(("BB-E9", at, Decimal(100 * (day - date(2026, 10, 1)).days)))
    _ingest(rows)
    rollups_rebuild(organization_id=org.pk, zones=meter_zones(None, ZURICH),
                    first=FIRST_DAY, last=date(2026, 10, 31))
    return {"seehaus": see, "bergblick": berg, "flat1": flat1, "flat2": flat2, "shop": shop,
            "office": office}
