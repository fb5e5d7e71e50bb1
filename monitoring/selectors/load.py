"""Load analysis: a circuit's (meter's) power against its rated capacity, per local day.

For each electricity meter in scope and each local day of the period (in the zone of the
property of the meter's latest assignment, as the consumption rollups use):

* **Peak power**: the largest ``active_power`` measurement of the day and the instant it
  occurred (ties: the earliest). Where raw measurements have passed the retention, the
  15-minute aggregates stand in with their ``max_value``/``max_at``, so a peak is never
  lost to downsampling.
* **Average power**: the day's *consumption* from the daily rollups (the invoices' kWh)
  divided by the day's hours (23 or 25 on a DST day). Energy is the integral of power, so
  this is the exact mean load, where an average of samples is biased by uneven polling
  and gaps; and "monitoring reads what billing reads". A day without a complete rollup
  (no readings yet) has no average.
* **Peak as % of the rated capacity** (``Meter.rated_capacity``, kW).
* **Hours above 80 % of the capacity**. The interval rule: every sample holds its value
  from its instant until the next sample of the series, but at most 15 minutes (a gap in
  the data is not counted as load) and never past the end of its local day; the hours
  are the sum of the held intervals whose value is strictly above 0.8 × capacity. Beyond
  retention each 15-minute aggregate bucket is one sample at its start holding its
  *average* (the whole bucket counts when its mean load was above the line; its max
  would count a one-second spike as 15 minutes). Buckets that still have raw rows (a late
  upload not yet merged) are read raw only. Polled every 15 minutes on the quarter hour,
  this counts exactly the quarter hours whose sample is above the line.

Meters without a rated capacity are analysed too (peak and average) but have no
percentage or hours; pages show them with a hint to set the capacity.

Two set-based queries whatever the number of meters and days (the measurements' primary
key answers each meter's range), organization-scoped (fails closed without one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection

from billspree.core.scoping import require_organization
from billspree.core.timefmt import local_midnight
from meters.models import Meter, MeterAssignment, MeterType
from monitoring.selectors.energy import Ref, check_days
from readings.models import DailyConsumption

#: The longest period a load analysis covers (rows per meter: one a day).
MAX_DAYS = 366
#: The share of the rated capacity above which hours are counted.
THRESHOLD = Decimal("0.8")
#: The longest a sample's value is held (the aggregate bucket, the usual poll interval).
MAX_HOLD = timedelta(minutes=15)
#: kWh per unit of an electricity meter.
KWH = {"kWh": Decimal(1), "MWh": Decimal(1000), "Wh": Decimal("0.001")}
ONE_DAY = timedelta(days=1)
KW, PERCENT, HOURS = Decimal("0.001"), Decimal("0.1"), Decimal("0.01")


@dataclass(frozen=True, slots=True)
class LoadDay:
    day: date
    peak_kw: Decimal | None
    peak_at: datetime | None
    average_kw: Decimal | None
    peak_percent: Decimal | None  # of the rated capacity
    hours_above: Decimal | None  # above THRESHOLD × capacity


@dataclass
class LoadMeter:
    meter: Ref
    label: str
    capacity_kw: Decimal | None
    zone: ZoneInfo
    property: Ref | None
    days: list[LoadDay] = field(default_factory=list)

    @property
    def threshold_kw(self) -> Decimal | None:
        return None if self.capacity_kw is None else self.capacity_kw * THRESHOLD


@dataclass
class LoadReport:
    first: date
    last: date
    meters: list[LoadMeter] = field(default_factory=list)

    @property
    def without_capacity(self) -> list[LoadMeter]:
        return [m for m in self.meters if m.capacity_kw is None]


def check_load_period(first: date | None, last: date | None) -> None:
    check_days(first, last, max_days=MAX_DAYS, what="load analysis")


def load_analysis(
    *, first: date | None, last: date | None, meter_id: int | None = None,
    property_id: int | None = None,
) -> LoadReport:
    """Daily peak, average, % of capacity and hours above 80 % over the local days
    [first, last]: of one meter, or of the electricity meters (of a property) that have a
    rated capacity or an active-power series."""
    check_load_period(first, last)
    org = require_organization()
    meters = _meters_in_scope(org, meter_id, property_id)
    report = LoadReport(first, last, meters)
    if not meters:
        return report
    by_id = meters
    peaks = _peaks(org.pk, first, last, by_id)
    energy = _daily_kwh(first, last, by_id)
    for m_id, lm in by_id.items():
        lm.days = [_day(lm, d, peaks.get((m_id, d)), energy.get((m_id, d)))
                   for d in _days(first, last)]
    report.meters = sorted(by_id.values(), key=lambda m: m.meter.name)
    return report


def _days(first: date, last: date) -> Iterable[date]:
    return (first + timedelta(days=n) for n in range((last - first).days + 1))


def _day(lm: LoadMeter, day: date, peak: tuple | None, kwh: Decimal | None) -> LoadDay:
    peak_w, peak_at, above_s = peak if peak else (None, None, None)
    peak_kw = None if peak_w is None else (Decimal(repr(peak_w)) / 1000).quantize(
        KW, ROUND_HALF_UP)
    average = None
    if kwh is not None:
        # in UTC: aware datetimes of one zone subtract as wall clocks (24 h on a DST day)
        span = (local_midnight(day + ONE_DAY, lm.zone).astimezone(UTC)
                - local_midnight(day, lm.zone).astimezone(UTC))
        hours = Decimal(span.total_seconds()) / 3600
        average = (kwh / hours).quantize(KW, ROUND_HALF_UP)
    percent = hours_above = None
    if lm.capacity_kw is not None and peak_w is not None:
        percent = (Decimal(repr(peak_w)) / 10 / lm.capacity_kw).quantize(
            PERCENT, ROUND_HALF_UP)
        hours_above = (Decimal(str(above_s or 0)) / 3600).quantize(HOURS, ROUND_HALF_UP)
    return LoadDay(day, peak_kw, peak_at, average, percent, hours_above)


def _meters_in_scope(org, meter_id: int | None, property_id: int | None) -> dict[int, LoadMeter]:
    """One meter (whatever its type), or the electricity meters (at the property of their
    latest assignment) that have a capacity or an active-power series."""
    qs = Meter.objects.all()
    if meter_id is not None:
        qs = qs.filter(pk=meter_id)
    else:
        qs = qs.filter(type=MeterType.ELECTRICITY).filter(
            rated_capacity__isnull=False) | qs.filter(
            type=MeterType.ELECTRICITY, measurement_series__quantity="active_power")
    if property_id is not None:  # a superset: the latest assignment decides below
        qs = qs.filter(pk__in=MeterAssignment.objects.filter(
            billing_point__property_id=property_id).values("meter_id"))
    meters = {m.pk: m for m in qs.distinct()}
    places = _places(meters)
    out = {}
    for pk, m in meters.items():
        prop = places.get(pk)
        if property_id is not None and (prop is None or prop[0] != property_id):
            continue
        zone = ZoneInfo(str(prop[3])) if prop else ZoneInfo(str(org.time_zone))
        out[pk] = LoadMeter(Ref(str(m.public_id), m.serial_number), m.label, m.rated_capacity,
                            zone, Ref(str(prop[1]), prop[2]) if prop else None)
    return out


def _places(meters: dict[int, Any]) -> dict[int, tuple]:
    """Meter id → (property id, public id, name, time zone) of its latest assignment."""
    rows = MeterAssignment.objects.filter(meter_id__in=list(meters)).order_by(
        "meter_id", "connected_at").values_list(
        "meter_id", "billing_point__property_id", "billing_point__property__public_id",
        "billing_point__property__name", "billing_point__property__time_zone")
    return {row[0]: row[1:] for row in rows}


_PEAKS_SQL = """
WITH m AS MATERIALIZED (
    SELECT s.id AS series_id, u.meter_id, u.tz, u.threshold_w,
           (%(first)s::timestamp AT TIME ZONE u.tz) AS lo,
           (%(end)s::timestamp AT TIME ZONE u.tz) AS hi
    FROM unnest(%(meters)s::bigint[], %(zones)s::text[], %(thresholds)s::float8[])
         AS u(meter_id, tz, threshold_w)
    JOIN readings_measurementseries s ON s.meter_id = u.meter_id AND s.quantity = 'active_power'
    WHERE s.organization_id = %(org)s
), samples AS (
    SELECT m.meter_id, m.tz, m.threshold_w, x.measured_at AS at, x.value AS level,
           x.value AS peak, x.measured_at AS peak_at
    FROM m JOIN readings_measurement x
      ON x.series_id = m.series_id AND x.measured_at >= m.lo AND x.measured_at < m.hi
    WHERE x.organization_id = %(org)s
    UNION ALL
    SELECT m.meter_id, m.tz, m.threshold_w, a.bucket_start, a.avg_value, a.max_value, a.max_at
    FROM m JOIN readings_measurementaggregate a
      ON a.series_id = m.series_id AND a.bucket_start >= m.lo AND a.bucket_start < m.hi
    WHERE a.organization_id = %(org)s AND NOT EXISTS (
        SELECT 1 FROM readings_measurement r WHERE r.series_id = a.series_id
          AND r.measured_at >= a.bucket_start AND r.measured_at < a.bucket_start + %(hold)s)
), held AS (
    SELECT meter_id, threshold_w, level, peak, peak_at, at,
           (at AT TIME ZONE tz)::date AS day,
           least(lead(at) OVER w, at + %(hold)s,
                 ((at AT TIME ZONE tz)::date + 1)::timestamp AT TIME ZONE tz) AS until
    FROM samples
    WINDOW w AS (PARTITION BY meter_id ORDER BY at)
)
SELECT meter_id, day, max(peak), (array_agg(peak_at ORDER BY peak DESC, peak_at))[1],
       sum(extract(epoch FROM until - at)) FILTER (WHERE level > threshold_w)
FROM held
GROUP BY meter_id, day
"""


def _peaks(org_id: int, first: date, last: date, meters: dict[int, LoadMeter]) -> dict:
    """(meter id, local day) → (peak W, its instant, seconds above the threshold)."""
    ids = list(meters)
    params = {
        "org": org_id, "first": first, "end": last + ONE_DAY, "hold": MAX_HOLD,
        "meters": ids, "zones": [meters[i].zone.key for i in ids],
        "thresholds": [None if meters[i].capacity_kw is None
                       else float(meters[i].capacity_kw * THRESHOLD * 1000) for i in ids],
    }
    with connection.cursor() as cursor:
        cursor.execute(_PEAKS_SQL, params)
        return {(m, d): (peak, at, above) for m, d, peak, at, above in cursor.fetchall()}


def _daily_kwh(first: date, last: date, meters: dict[int, LoadMeter]) -> dict:
    """(meter id, local day) → kWh of the day from the daily rollups (meters in kWh, MWh
    or Wh; other units have no power)."""
    units = dict(Meter.objects.filter(pk__in=list(meters)).values_list("pk", "unit"))
    rows = DailyConsumption.objects.filter(
        meter_id__in=[m for m, u in units.items() if u in KWH], day__range=(first, last)
    ).values_list("meter_id", "day", "quantity")
    return {(m, d): q * KWH[units[m]] for m, d, q in rows}
