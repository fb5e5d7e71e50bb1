"""Every kWh counts once: the consumption rollups with main meters net of their sub-meters.

A main meter (``Meter.parent`` of its sub-meters) measures its sub-meters' energy again.
Summed with them (a property's electricity, a meter type, an organization) it would count
that energy twice, so above the meter level the reports, trends and the dashboard read the
rollups through :func:`netted_rollup`: every rollup row as it is, plus each sub-meter's row
once more, negated and booked to its main meter. Attributed like any row of the main meter
(to the billing point and property of the main meter's assignment when the period began),
the main meter's billing point then carries what its sub-meters do not measure (common use
and losses: the building statement's gap), and any sum over billing points or properties
counts the main meter's energy once. Grouped by meter, a main meter shows what it measured
(callers leave the netting rows out: ``netted`` marks them).

Only a sub-meter of the main meter's type and unit is netted: kWh are never subtracted from
m³. A sub-meter without data for a period takes nothing off its main meter there, so the
remainder overstates the common use until its readings come: the loss pages flag such
periods "incomplete", and the energy report lists them (:func:`netting_gaps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

#: The rollup tables and their keys.
ROLLUPS = {"readings_hourlyconsumption": "hour", "readings_dailyconsumption": "day",
           "readings_monthlyconsumption": "month"}

_NETTED = """(
    SELECT r.meter_id, r.{column}, r.quantity, false AS netted, r.organization_id
    FROM {table} r
    WHERE r.organization_id = %(org)s
    UNION ALL
    SELECT m.parent_id, r.{column}, -r.quantity, true, r.organization_id
    FROM meters_meter m
    JOIN meters_meter pm ON pm.id = m.parent_id AND pm.unit = m.unit AND pm.type = m.type
    JOIN {table} r ON r.meter_id = m.id
    WHERE m.organization_id = %(org)s AND m.parent_id IS NOT NULL
      AND r.organization_id = %(org)s
)"""


def netted_rollup(table: str) -> str:
    """SQL of a derived table ``(meter_id, <key>, quantity, netted, organization_id)`` over
    the rollup ``table`` (one of :data:`ROLLUPS`, whose key is hour, day or month) of the
    organization ``%(org)s``, to be aliased by the caller.

    Filters the caller puts on the key are pushed into both branches by PostgreSQL; the
    second branch starts from the (few) sub-meters and reads their rows by the rollup's
    primary key, so an organization without sub-meters pays one empty index probe."""
    return _NETTED.format(table=table, column=ROLLUPS[table])


@dataclass(frozen=True, slots=True)
class NettingGap:
    """Days on which a main meter has consumption but one of its sub-meters, connected then,
    has none yet: there the main meter's remainder still holds the sub-meter's use."""

    main_id: str  # public ids and serial numbers
    main_serial: str
    sub_id: str
    sub_serial: str
    first: date
    last: date
    days: int


#: For each (main meter, zone) pair: the days in [first, last] with a daily rollup of the
#: main meter and none of a sub-meter (same type and unit) assigned on that local day.
_GAPS = """
SELECT pm.public_id::text, pm.serial_number, s.public_id::text, s.serial_number,
       min(d.day), max(d.day), count(*)
FROM unnest(%(main)s::bigint[], %(tz)s::text[]) AS t(main_id, tz)
JOIN meters_meter pm ON pm.id = t.main_id
JOIN meters_meter s ON s.parent_id = pm.id AND s.type = pm.type AND s.unit = pm.unit
    AND s.organization_id = %(org)s
JOIN readings_dailyconsumption d ON d.meter_id = pm.id AND d.organization_id = %(org)s
    AND d.day BETWEEN %(first)s AND %(last)s
WHERE NOT EXISTS (SELECT 1 FROM readings_dailyconsumption x
                  WHERE x.meter_id = s.id AND x.day = d.day)
  AND EXISTS (SELECT 1 FROM meters_meterassignment a
              WHERE a.meter_id = s.id AND (a.connected_at AT TIME ZONE t.tz)::date <= d.day
                AND (a.removed_at IS NULL OR (a.removed_at AT TIME ZONE t.tz)::date > d.day))
GROUP BY pm.public_id, pm.serial_number, s.public_id, s.serial_number
ORDER BY pm.serial_number, s.serial_number
"""


def netting_gaps(*, organization_id: int, mains: dict[int, str], first: date,
                 last: date) -> list[NettingGap]:
    """The days of [first, last] on which a main meter of ``mains`` (id → its property's
    zone) was netted of less than all its sub-meters, per sub-meter (one statement; none
    when there is no main meter)."""
    if not mains:
        return []
    ids = sorted(mains)
    with connection.cursor() as cursor:
        cursor.execute(_GAPS, {"main": ids, "tz": [str(mains[m]) for m in ids],
                               "org": organization_id, "first": first, "last": last})
        return [NettingGap(*row) for row in cursor.fetchall()]
