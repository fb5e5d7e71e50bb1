"""Trends: the consumption of a selection (meters, billing points, properties, any mix of
them; nothing chosen means every meter of the organization) over a period of local days,
per hour, day or month, beside the same selection over a comparison period (the period
just before, or the same period a year earlier).

**Read from the consumption rollups** of ``readings`` (hourly, daily, monthly; built by
the invoices' segment arithmetic, complete local days only), so a kWh here is the kWh on
the bill: one set-based query per period, never a query per meter or per point.

**A selection is a set of meter-periods.** A rollup row (a meter's hour, day or month)
belongs to the billing point and property of the meter's assignment in effect when the
row's period begins (the first assignment also takes the period it was connected in), as
in the energy report; a row is counted once when it matches any chosen meter, billing
point or property, so choosing a property and one of its meters does not count that
meter twice.

**Every kWh counts once.** A main meter (``Meter.parent`` of its sub-meters) measures its
sub-meters' energy again, so where it is chosen through its billing point or property (or
nothing is chosen) it contributes only what its sub-meters do not measure (main − subs,
hour by hour, as the energy report attributes it; :mod:`monitoring.selectors.netting`): a
property is its main meter's total, not main + subs. A main meter chosen *as a meter*
shows what it measured.

**Units are never mixed:** a selection spanning units (kWh and m³) must name a meter type;
hours are instants (a DST day has 23 or 25), days and months are local dates of each
meter's property.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from billspree.core.limits import DATE_MAX, DATE_MIN
from billspree.core.scoping import require_organization
from billspree.core.timefmt import local_midnight
from monitoring.selectors.netting import netted_rollup

RESOLUTIONS = ("hour", "day", "month")
COMPARISONS = ("none", "previous", "last_year")
#: The longest period of a trend, and the longest at hourly resolution (points per chart).
MAX_DAYS = 3 * 366
MAX_HOUR_DAYS = 366
ONE_DAY = timedelta(days=1)
ONE_HOUR = timedelta(hours=1)
#: The widest offset of a zone from UTC (local days' hours lie within this of UTC days).
ZONE_SPAN = timedelta(hours=15)


@dataclass(frozen=True, slots=True)
class Selection:
    """Primary keys (already scoped to the organization) of what a trend sums."""

    meters: tuple[int, ...] = ()
    billing_points: tuple[int, ...] = ()
    properties: tuple[int, ...] = ()

    @property
    def everything(self) -> bool:
        return not (self.meters or self.billing_points or self.properties)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One point of the x axis: its start (an instant for hours, a local date for days,
    the 1st for months), the selection's quantity (None: no complete data), and the
    comparison point it is drawn against (None when there is none, e.g. 29 Feb)."""

    at: date | datetime
    quantity: Decimal | None
    compare_at: date | datetime | None = None
    compare_quantity: Decimal | None = None

    @property
    def change_percent(self) -> Decimal | None:
        if self.quantity is None or not self.compare_quantity:
            return None
        return ((self.quantity - self.compare_quantity) * 100 / self.compare_quantity).quantize(
            Decimal("0.1"))


@dataclass
class Trend:
    first: date
    last: date
    resolution: str
    comparison: str
    zone: tzinfo
    unit: str = ""
    compare_first: date | None = None
    compare_last: date | None = None
    points: list[TrendPoint] = field(default_factory=list)
    total: Decimal | None = None
    #: the whole comparison period (also the points that have no partner, e.g. 29 Feb)
    compare_total: Decimal | None = None

    @property
    def change_percent(self) -> Decimal | None:
        if self.total is None or not self.compare_total:
            return None
        return ((self.total - self.compare_total) * 100 / self.compare_total).quantize(
            Decimal("0.1"))


# --- validation -------------------------------------------------------------------------------


def check_trend(first: date | None, last: date | None, resolution: str | None,
                comparison: str | None) -> None:
    """Every problem at once, by the name of the query parameter it concerns."""
    errors: dict[str, list[str]] = {}
    if first is None:
        errors["from"] = ["Give the first local day of the period (YYYY-MM-DD)."]
    if last is None:
        errors["to"] = ["Give the last local day of the period (YYYY-MM-DD, inclusive)."]
    if resolution not in RESOLUTIONS:
        errors["resolution"] = [f"Unknown resolution {resolution!r}: use any of "
                                f"{', '.join(RESOLUTIONS)}."]
    if comparison not in COMPARISONS:
        errors["compare"] = [f"Unknown comparison {comparison!r}: use any of "
                             f"{', '.join(COMPARISONS)}."]
    if first is not None and last is not None:
        days = (last - first).days + 1
        if last < first:
            errors["to"] = [f"The period ends ({last}) before it begins ({first})."]
        elif days > MAX_DAYS:
            errors["to"] = [f"A trend covers at most {MAX_DAYS} days; this is {days}."]
        elif resolution == "hour" and days > MAX_HOUR_DAYS:
            errors["resolution"] = [f"Per hour a trend covers at most {MAX_HOUR_DAYS} days; "
                                    f"this is {days}: choose day or month."]
        elif comparison in COMPARISONS and comparison != "none":
            cfirst, clast = comparison_period(first, last, resolution, comparison)
            if cfirst < DATE_MIN or clast > DATE_MAX:
                errors["compare"] = ["The comparison period lies outside the dates the "
                                     "product computes."]
    if errors:
        raise ValidationError(errors)


# --- periods ----------------------------------------------------------------------------------


def shift_months(day: date, months: int, *, month_end: bool = False) -> date:
    """``day`` moved by ``months`` (negative: back), the day clamped to the month's length;
    ``month_end`` keeps a month's last day the last day."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    length = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, length if month_end else min(day.day, length))


def _is_month_end(day: date) -> bool:
    return (day + ONE_DAY).day == 1


def months_spanned(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def comparison_period(first: date, last: date, resolution: str | None,
                      comparison: str) -> tuple[date, date]:
    """The period a trend is compared with: ``previous`` is the same length just before
    (as many whole months before, per month; as many days, otherwise), ``last_year`` the
    same dates a year earlier (29 Feb → 28 Feb; a month's last day stays one)."""
    if comparison == "last_year":
        return (shift_months(first, -12), shift_months(last, -12, month_end=_is_month_end(last)))
    if resolution == "month":
        k = months_spanned(first, last)
        return (shift_months(first, -k), shift_months(last, -k, month_end=_is_month_end(last)))
    days = (last - first).days + 1
    return first - timedelta(days=days), last - timedelta(days=days)


def _axis(first: date, last: date, resolution: str, zone: tzinfo) -> list[date | datetime]:
    if resolution == "month":
        return [shift_months(first.replace(day=1), k) for k in range(months_spanned(first, last))]
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if resolution == "day":
        return days
    start = local_midnight(first, zone).astimezone(UTC)
    end = local_midnight(last + ONE_DAY, zone).astimezone(UTC)
    return [start + n * ONE_HOUR for n in range(int((end - start) / ONE_HOUR))]


def _partner(at: date | datetime, trend: Trend, zone: tzinfo) -> date | datetime | None:
    """The point of the comparison period drawn against ``at``: the same offset into the
    period (days, months), or for hours the same local wall time (an hour that does not
    exist on the other day, or a repeated hour's second run, has none)."""
    assert trend.compare_first is not None
    if trend.resolution == "month":
        k = 12 if trend.comparison == "last_year" else months_spanned(trend.first, trend.last)
        return shift_months(at, -k)  # type: ignore[arg-type]
    if trend.resolution == "day":
        if trend.comparison == "last_year":
            return None if (at.month, at.day) == (2, 29) else shift_months(at, -12)  # type: ignore[arg-type]
        return at - (trend.first - trend.compare_first)
    local = at.astimezone(zone)  # type: ignore[union-attr]
    day = _partner(local.date(), _as_days(trend), zone)
    if day is None:
        return None
    wall = datetime.combine(day, local.time(), tzinfo=zone).replace(fold=local.fold)
    there = wall.astimezone(UTC)
    if there.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        return None  # the wall time does not exist there (spring forward)
    if local.fold == 1 and there == wall.replace(fold=0).astimezone(UTC):
        return None  # the repeated hour has no second run there
    return there


def _as_days(trend: Trend) -> Trend:
    return Trend(trend.first, trend.last, "day", trend.comparison, trend.zone,
                 compare_first=trend.compare_first, compare_last=trend.compare_last)


# --- the selector -----------------------------------------------------------------------------


def trend(
    *,
    first: date | None,
    last: date | None,
    resolution: str = "day",
    comparison: str = "none",
    selection: Selection = Selection(),
    meter_type: str | None = None,
) -> Trend:
    """The selection's consumption over the local days [first, last] per ``resolution``,
    and over the comparison period; see the module doc."""
    check_trend(first, last, resolution, comparison)
    assert first is not None and last is not None
    org = require_organization()
    zone = _zone(org, selection)
    result = Trend(first, last, resolution, comparison, zone)
    main = _quantities(org.pk, first, last, resolution, selection, meter_type)
    units = set(main)
    compare: dict[str, dict] = {}
    if comparison != "none":
        result.compare_first, result.compare_last = comparison_period(first, last, resolution,
                                                                      comparison)
        compare = _quantities(org.pk, result.compare_first, result.compare_last, resolution,
                              selection, meter_type)
        units |= set(compare)
    if len(units) > 1:
        raise ValidationError({"meter_type": [
            f"The selection measures in {' and '.join(sorted(units))}: choose a meter type "
            f"so that one unit is summed."]})
    result.unit = units.pop() if units else ""
    values = main.get(result.unit, {})
    earlier = compare.get(result.unit, {})
    axis = sorted(set(_axis(first, last, resolution, zone)) | set(values))
    for at in axis:
        partner = _partner(at, result, zone) if comparison != "none" else None
        result.points.append(TrendPoint(at, values.get(at), partner,
                                        earlier.get(partner) if partner is not None else None))
    result.total = sum(values.values(), Decimal(0)) if values else None
    if comparison != "none":
        result.compare_total = sum(earlier.values(), Decimal(0)) if earlier else None
    return result


def _zone(org, selection: Selection) -> tzinfo:
    """The zone hours are shown in: the selection's properties' if they share one, else
    the organization's."""
    with connection.cursor() as cursor:
        cursor.execute(_ZONES_SQL, _params(org.pk, selection))
        zones = [row[0] for row in cursor.fetchall()]
    return ZoneInfo(zones[0] if len(zones) == 1 else str(org.time_zone))


_ZONES_SQL = """
SELECT DISTINCT p.time_zone FROM meters_meterassignment a
JOIN meters_billingpoint bp ON bp.id = a.billing_point_id
JOIN meters_property p ON p.id = bp.property_id
WHERE a.organization_id = %(org)s
  AND (%(everything)s OR a.meter_id = ANY(%(meters)s) OR a.billing_point_id = ANY(%(bps)s)
       OR bp.property_id = ANY(%(props)s))
"""

#: table, the row's key, the instant its period begins (in the assignment's zone), the
#: row's period as plain comparisons (hours: a superset by the widest offset, then exact)
_GRAINS = {
    "hour": ("readings_hourlyconsumption", "r.hour", "r.hour",
             "r.hour >= %(scan_lo)s AND r.hour < %(scan_hi)s"
             " AND r.hour >= (%(first)s::timestamp AT TIME ZONE asg.tz)"
             " AND r.hour < (%(end)s::timestamp AT TIME ZONE asg.tz)"),
    "day": ("readings_dailyconsumption", "r.day", "(r.day::timestamp AT TIME ZONE asg.tz)",
            "r.day BETWEEN %(first)s AND %(last)s"),
    "month": ("readings_monthlyconsumption", "r.month",
              "(r.month::timestamp AT TIME ZONE asg.tz)", "r.month BETWEEN %(first)s AND %(last)s"),
}

_TREND_SQL = """
WITH asg AS MATERIALIZED (  -- every assignment of a candidate meter, with the next one's start
    SELECT a.meter_id, a.billing_point_id, bp.property_id, p.time_zone AS tz, m.unit, m.type,
           a.connected_at, row_number() OVER w AS n, lead(a.connected_at) OVER w AS next_at
    FROM meters_meterassignment a
    JOIN meters_billingpoint bp ON bp.id = a.billing_point_id
    JOIN meters_property p ON p.id = bp.property_id
    JOIN meters_meter m ON m.id = a.meter_id
    WHERE a.organization_id = %(org)s
      AND (%(meter_type)s::text IS NULL OR m.type = %(meter_type)s::text)
      AND a.meter_id IN (
          SELECT x.meter_id FROM meters_meterassignment x
          JOIN meters_billingpoint xb ON xb.id = x.billing_point_id
          WHERE x.organization_id = %(org)s
            AND (%(everything)s OR x.meter_id = ANY(%(meters)s)
                 OR x.billing_point_id = ANY(%(bps)s) OR xb.property_id = ANY(%(props)s)))
    WINDOW w AS (PARTITION BY a.meter_id ORDER BY a.connected_at)
)
SELECT {bucket}, asg.unit, sum(r.quantity)
FROM {rollup} r
JOIN asg ON asg.meter_id = r.meter_id
 AND (asg.n = 1 OR {start} >= asg.connected_at)
 AND (asg.next_at IS NULL OR {start} < asg.next_at)
WHERE {period}
  AND (%(everything)s OR asg.meter_id = ANY(%(meters)s) OR asg.billing_point_id = ANY(%(bps)s)
       OR asg.property_id = ANY(%(props)s))
  AND NOT (r.netted AND asg.meter_id = ANY(%(meters)s))
GROUP BY 1, 2
"""


def _params(org_id: int, selection: Selection) -> dict[str, Any]:
    return {"org": org_id, "everything": selection.everything,
            "meters": list(selection.meters), "bps": list(selection.billing_points),
            "props": list(selection.properties)}


def _grain(first: date, last: date, resolution: str) -> str:
    if resolution == "month" and not (first.day == 1 and _is_month_end(last)):
        return "day"  # part months: summed from their days
    return resolution


def _quantities(org_id: int, first: date, last: date, resolution: str,
                selection: Selection, meter_type: str | None) -> dict[str, dict]:
    """unit → {point: quantity} over [first, last], one query."""
    grain = _grain(first, last, resolution)
    table, key, start, period = _GRAINS[grain]
    bucket = "date_trunc('month', r.day)::date" if grain != resolution else key
    sql = _TREND_SQL.format(bucket=bucket, start=start, period=period,
                            rollup=netted_rollup(table))
    params = {**_params(org_id, selection), "meter_type": meter_type or None,
              "first": first, "last": last, "end": last + ONE_DAY,
              "scan_lo": datetime.combine(first, time(0), UTC) - ZONE_SPAN,
              "scan_hi": datetime.combine(last + ONE_DAY, time(0), UTC) + ZONE_SPAN}
    out: dict[str, dict] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # compiling costs more than the aggregate
        cursor.execute(sql, params)
        for at, unit, quantity in cursor.fetchall():
            out.setdefault(unit, {})[at] = quantity
    return out


def selection_of(meters: Sequence[int] = (), billing_points: Sequence[int] = (),
                 properties: Sequence[int] = ()) -> Selection:
    return Selection(tuple(meters), tuple(billing_points), tuple(properties))
