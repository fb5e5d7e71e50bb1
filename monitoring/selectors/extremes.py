"""The extremum report: for every device (meter or environmental sensor) and every quantity
it measures, the maximum and the minimum over a period of local days, with the instant
each occurred.

* The period is local days in the zone of the device's property (a sensor's own property,
  a meter's latest assignment's property, as the rollups use; the organization's zone
  for a meter never assigned), so "25 Oct 2026" in Zurich is the 25 hours from 00:00 CEST
  to 00:00 CET. Instants are returned aware (UTC); pages and exports show them in that
  zone, so an extreme at 02:37 after the clocks went back reads 02:37 CET, not CEST.
* Ties: the earliest instant wins (for the maximum and the minimum alike).
* Raw measurements and, where raw rows have passed the retention, the 15-minute
  aggregates' ``min_value``/``min_at`` and ``max_value``/``max_at`` are read together, so
  an extreme survives downsampling (a bucket present both ways gives the same extremes).
* One set-based query: each series' range is read through the measurements' primary key
  ``(series_id, measured_at)`` and reduced by one ``GROUP BY`` with ordered aggregates
  (``array_agg(at ORDER BY value, at)[1]``, as the retention's own downsampling does),
  never one query per device.

Organization-scoped (fails closed without one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection

from billspree.core.scoping import require_organization
from monitoring.selectors.energy import Ref
from readings.measurements.models import Quantity

MAX_DAYS = 3 * 366
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ExtremeRow:
    kind: str  # "meter" or "sensor"
    device: Ref  # public id, serial number
    label: str
    property: Ref | None
    quantity: str
    unit: str
    zone: ZoneInfo
    maximum: float
    max_at: datetime
    minimum: float
    min_at: datetime
    samples: int  # raw rows plus aggregate buckets read


@dataclass
class ExtremesReport:
    first: date
    last: date
    rows: list[ExtremeRow] = field(default_factory=list)


def check_extremes_params(first: date | None, last: date | None, quantity: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if first is None:
        errors["from"] = ["Give the first local day of the period (YYYY-MM-DD)."]
    if last is None:
        errors["to"] = ["Give the last local day of the period (YYYY-MM-DD, inclusive)."]
    if quantity and quantity not in Quantity.values:
        errors["quantity"] = [f"Unknown quantity {quantity!r}: use any of "
                              f"{', '.join(Quantity.values)}."]
    if not errors and last < first:
        errors["to"] = [f"The period ends ({last}) before it begins ({first})."]
    if not errors and (last - first).days + 1 > MAX_DAYS:
        errors["to"] = [f"The report covers at most {MAX_DAYS} days; "
                        f"this is {(last - first).days + 1}."]
    if errors:
        raise ValidationError(errors)


_SQL = """
WITH places AS (
    SELECT DISTINCT ON (a.meter_id) a.meter_id, bp.property_id
    FROM meters_meterassignment a JOIN meters_billingpoint bp ON bp.id = a.billing_point_id
    WHERE a.organization_id = %(org)s
    ORDER BY a.meter_id, a.connected_at DESC
), s AS MATERIALIZED (
    SELECT s.id, s.quantity, s.unit,
           CASE WHEN s.meter_id IS NULL THEN 'sensor' ELSE 'meter' END AS kind,
           coalesce(m.public_id, se.public_id)::text AS device_pid,
           coalesce(m.serial_number, se.serial_number) AS serial,
           coalesce(m.label, se.label) AS label,
           p.public_id::text AS property_pid, p.name AS property_name,
           coalesce(p.time_zone, o.time_zone) AS tz
    FROM readings_measurementseries s
    JOIN core_organization o ON o.id = s.organization_id
    LEFT JOIN meters_meter m ON m.id = s.meter_id
    LEFT JOIN places pl ON pl.meter_id = s.meter_id
    LEFT JOIN meters_sensor se ON se.id = s.sensor_id
    LEFT JOIN meters_property p ON p.id = coalesce(se.property_id, pl.property_id)
    WHERE s.organization_id = %(org)s AND {filters}
), r AS MATERIALIZED (
    SELECT s.id, (%(first)s::timestamp AT TIME ZONE s.tz) AS lo,
           (%(end)s::timestamp AT TIME ZONE s.tz) AS hi
    FROM s
), v AS (
    SELECT r.id, x.value AS lo_v, x.measured_at AS lo_at, x.value AS hi_v,
           x.measured_at AS hi_at
    FROM r JOIN readings_measurement x
      ON x.series_id = r.id AND x.measured_at >= r.lo AND x.measured_at < r.hi
    WHERE x.organization_id = %(org)s
    UNION ALL
    SELECT r.id, a.min_value, a.min_at, a.max_value, a.max_at
    FROM r JOIN readings_measurementaggregate a
      ON a.series_id = r.id AND a.bucket_start >= r.lo AND a.bucket_start < r.hi
    WHERE a.organization_id = %(org)s
), e AS (
    SELECT id, max(hi_v) AS hi_v, (array_agg(hi_at ORDER BY hi_v DESC, hi_at))[1] AS hi_at,
           min(lo_v) AS lo_v, (array_agg(lo_at ORDER BY lo_v, lo_at))[1] AS lo_at,
           count(*) AS n
    FROM v GROUP BY id
)
SELECT s.kind, s.device_pid, s.serial, s.label, s.property_pid, s.property_name, s.quantity,
       s.unit, s.tz, e.hi_v, e.hi_at, e.lo_v, e.lo_at, e.n
FROM e JOIN s ON s.id = e.id
"""

_FILTERS = {
    "property_id": "p.id = %(property_id)s",
    "quantity": "s.quantity = %(quantity)s",
    "meter_id": "s.meter_id = %(meter_id)s",
    "sensor_id": "s.sensor_id = %(sensor_id)s",
}
_QUANTITY_ORDER = {q: n for n, q in enumerate(Quantity.values)}


def extremes(
    *, first: date | None, last: date | None, property_id: int | None = None,
    quantity: str | None = None, meter_id: int | None = None, sensor_id: int | None = None,
) -> ExtremesReport:
    """Max and min (with their instants) of every series in scope over [first, last]."""
    check_extremes_params(first, last, quantity or None)
    org = require_organization()
    filters = {"property_id": property_id, "quantity": quantity or None, "meter_id": meter_id,
               "sensor_id": sensor_id}
    where = " AND ".join(c for k, c in _FILTERS.items() if filters[k] is not None) or "true"
    with connection.cursor() as cursor:
        cursor.execute(_SQL.format(filters=where), {
            "org": org.pk, "first": first, "end": last + ONE_DAY, **filters})
        found = cursor.fetchall()
    rows = [ExtremeRow(kind, Ref(pid, serial), label or "",
                       Ref(ppid, pname) if ppid else None, qty, unit, ZoneInfo(str(tz)),
                       hi, hi_at, lo, lo_at, n)
            for kind, pid, serial, label, ppid, pname, qty, unit, tz, hi, hi_at, lo, lo_at, n
            in found]
    rows.sort(key=lambda r: (r.property.name if r.property else "", r.kind, r.device.name,
                             _QUANTITY_ORDER.get(r.quantity, 99)))
    return ExtremesReport(first, last, rows)
