"""Environmental monitoring: every sensor of the organization grouped by property and area
with its current temperature and humidity (the latest measurement, its age, stale when
older than :data:`STALE_AFTER`), and the history of chosen sensors over a period.

**History reads both stores of measurements** (``readings/measurements/README.md``): the
raw rows (kept ``MEASUREMENT_RAW_DAYS``) and, beyond that, the 15-minute aggregates the
retention wrote from them (samples, min, avg, max). One query per series unions the two
and bins them: min of the minimums, max of the maximums, the average weighted by samples
(a raw value is one sample), so a period across the retention cut-off is one curve.
Bins are absolute (15 minutes, 1 hour) for short periods and local days for long ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import OuterRef, Subquery

from billspree.core.timefmt import local_midnight
from meters.models import Sensor
from readings.measurements.models import UNITS, Measurement, MeasurementSeries, Quantity

#: A sensor's value older than this is shown as stale.
STALE_AFTER = timedelta(hours=1)
QUANTITIES = (Quantity.TEMPERATURE.value, Quantity.HUMIDITY.value)
MAX_DAYS = 400
MAX_SENSORS = 12
#: period length (days, at most) → bin; longer periods are binned by local day
BINS = ((3, timedelta(minutes=15)), (35, timedelta(hours=1)))


@dataclass(frozen=True, slots=True)
class Current:
    """The latest value of one quantity of a sensor."""

    value: float
    at: datetime
    age: timedelta
    stale: bool


@dataclass
class SensorNow:
    sensor: Sensor
    values: dict[str, Current] = field(default_factory=dict)  # quantity → latest

    @property
    def stale(self) -> bool:
        """No value at all, or any value older than :data:`STALE_AFTER`."""
        return not self.values or any(c.stale for c in self.values.values())


@dataclass(frozen=True, slots=True)
class AreaValue:
    """One quantity over an area's sensors now: mean, minimum and maximum of the fresh
    latest values (a stale sensor would drag the mean toward the past, so it is left out
    and counted in ``stale``)."""

    mean: float
    min: float
    max: float
    sensors: int
    stale: int


@dataclass
class Area:
    name: str  # the sensor's area, else its billing point's name, else ""
    sensors: list[SensorNow] = field(default_factory=list)

    def summary(self, quantity: str) -> AreaValue | None:
        """None when no sensor of the area has a fresh value of the quantity."""
        found = [s.values[quantity] for s in self.sensors if quantity in s.values]
        fresh = [c.value for c in found if not c.stale]
        if not fresh:
            return None
        return AreaValue(sum(fresh) / len(fresh), min(fresh), max(fresh), len(fresh),
                         len(found) - len(fresh))


@dataclass
class PropertyGroup:
    property: Any
    zone: tzinfo
    areas: list[Area] = field(default_factory=list)


def measures(sensor: Sensor, quantity: str) -> bool:
    """Whether the sensor's kind measures the quantity (a temperature sensor gets no empty
    humidity chart; "other" may measure anything)."""
    return sensor.kind in (quantity, "temperature_humidity", "other")


def area_of(sensor: Sensor) -> str:
    if sensor.area:
        return sensor.area
    return sensor.billing_point.name if sensor.billing_point_id else ""


def environment_now(*, now: datetime) -> list[PropertyGroup]:
    """Every sensor by property (by name) and area (by name), with its latest temperature
    and humidity: two queries (sensors; latest value per series by its primary key)."""
    sensors = list(Sensor.objects.select_related("property", "billing_point")
                   .order_by("property__name", "property_id", "serial_number"))
    latest = Measurement.objects.filter(series_id=OuterRef("pk")).order_by("-measured_at")
    series = (MeasurementSeries.objects.filter(sensor__in=[s.pk for s in sensors],
                                               quantity__in=QUANTITIES)
              .annotate(latest_at=_sub(latest, "measured_at"),
                        latest_value=_sub(latest, "value"))
              .values_list("sensor_id", "quantity", "latest_at", "latest_value"))
    values: dict[int, dict[str, Current]] = {}
    for sensor_id, quantity, at, value in series:
        if at is not None:
            age = max(now - at, timedelta(0))
            values.setdefault(sensor_id, {})[quantity] = Current(value, at, age,
                                                                 age > STALE_AFTER)
    groups: list[PropertyGroup] = []
    for s in sensors:
        if not groups or groups[-1].property.pk != s.property_id:
            groups.append(PropertyGroup(s.property, _zone(s.property.time_zone)))
        areas = {a.name: a for a in groups[-1].areas}
        name = area_of(s)
        if name not in areas:
            groups[-1].areas.append(areas.setdefault(name, Area(name)))
        areas[name].sensors.append(SensorNow(s, values.get(s.pk, {})))
    for g in groups:
        g.areas.sort(key=lambda a: (a.name == "", a.name.lower()))
    return groups


def _sub(qs, column: str) -> Subquery:
    return Subquery(qs.values(column)[:1])


def _zone(name: Any) -> tzinfo:
    return name if isinstance(name, tzinfo) else ZoneInfo(str(name))


# --- history ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One bin: its start (an instant, or a local date for day bins), min/avg/max and how
    many samples (raw values, plus the samples aggregated buckets stood for)."""

    at: date | datetime
    min: float
    avg: float
    max: float
    samples: int


@dataclass
class History:
    sensor: Sensor
    quantity: str
    unit: str
    first: date
    last: date
    bin: str  # "15 min", "1 h" or "day"
    zone: tzinfo
    points: list[HistoryPoint] = field(default_factory=list)


def check_period(first: date | None, last: date | None) -> None:
    errors: dict[str, list[str]] = {}
    if first is None:
        errors["from"] = ["Give the first local day of the period (YYYY-MM-DD)."]
    if last is None:
        errors["to"] = ["Give the last local day of the period (YYYY-MM-DD, inclusive)."]
    if first is not None and last is not None:
        if last < first:
            errors["to"] = [f"The period ends ({last}) before it begins ({first})."]
        elif (last - first).days + 1 > MAX_DAYS:
            errors["to"] = [f"A history covers at most {MAX_DAYS} days; this is "
                            f"{(last - first).days + 1}."]
    if errors:
        raise ValidationError(errors)


_HISTORY_SQL = """
WITH src AS (
    SELECT m.measured_at AS t, m.value AS lo, m.value AS mean, m.value AS hi, 1 AS n
    FROM readings_measurement m
    WHERE m.series_id = %(series)s AND m.measured_at >= %(start)s AND m.measured_at < %(end)s
    UNION ALL
    SELECT g.bucket_start, g.min_value, g.avg_value, g.max_value, g.samples
    FROM readings_measurementaggregate g
    WHERE g.series_id = %(series)s AND g.bucket_start >= %(start)s AND g.bucket_start < %(end)s
)
SELECT {bin} AS b, min(lo), sum(mean * n) / sum(n), max(hi), sum(n)::int
FROM src GROUP BY 1 ORDER BY 1
"""
_ABSOLUTE_BIN = "date_bin(%(step)s, t, %(start)s)"
_DAY_BIN = "(t AT TIME ZONE %(tz)s)::date"


def sensor_history(*, sensor: Sensor, quantity: str, first: date | None,
                   last: date | None) -> History:
    """``quantity`` of ``sensor`` over the local days [first, last] of its property."""
    check_period(first, last)
    assert first is not None and last is not None
    if quantity not in QUANTITIES:
        raise ValidationError({"quantity": [f"Unknown quantity {quantity!r}: use any of "
                                            f"{', '.join(QUANTITIES)}."]})
    zone = _zone(sensor.property.time_zone)
    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    days = (last - first).days + 1
    step = next((s for limit, s in BINS if days <= limit), None)
    label = "day" if step is None else ("15 min" if step == BINS[0][1] else "1 h")
    series = MeasurementSeries.objects.filter(sensor=sensor, quantity=quantity).first()
    history = History(sensor, quantity, UNITS[quantity], first, last, label, zone)
    if series is None:
        return history
    sql = _HISTORY_SQL.format(bin=_DAY_BIN if step is None else _ABSOLUTE_BIN)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"series": series.pk, "start": start, "end": end, "step": step,
                             "tz": str(zone)})
        history.points = [HistoryPoint(b, lo, mean, hi, n) for b, lo, mean, hi, n
                          in cursor.fetchall()]
    return history
