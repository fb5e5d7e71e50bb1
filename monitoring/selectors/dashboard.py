"""The energy dashboard of an organization or of one property: what was used this month,
how that compares with last month and the same month a year ago, what it cost, who uses
most, how much per m², and which meters have gone quiet.

Why it is built on :func:`monitoring.selectors.energy.energy_report` and nothing else for
energy and cost: "monitoring reads what billing reads". Consumption comes from the
consumption rollups (complete local days, the invoices' arithmetic), cost from issued
invoices less credit notes, by the local month an invoice period starts in, exactly as the
energy report computes them; the dashboard only chooses periods and ranks.

A fixed, small number of queries whatever the number of meters (four):

1. the 25 months ``this month − 24 … this month`` by meter type and month (one aggregate
   over the monthly rollups, one cost query): this, last and the same month last year,
   and the 13-month chart with the 13 months a year earlier;
2. this month by billing point and meter type, ranked in SQL: the top consumers with
   their areas and, per meter type, the intensity per m² (one aggregate over the monthly
   rollups; names only for the rows shown);
3. the meters that have not been read for 24 hours (from each meter's reading state, the
   row ingestion keeps), stalest first, and how many active meters there are (one query).

Both rollup aggregates attribute a meter's month to its billing point exactly as
:func:`monitoring.selectors.energy.energy_report` does (the numbers are the energy
report's). 1. and 2. are cached (``DASHBOARD_CACHE_SECONDS``, keyed by the rollups'
version, see :func:`_from_rollups`); 3. never is.

"This month" is the calendar month of today in the property's time zone (the
organization's for the organization dashboard), or a month asked for. Its value is *so
far*: the complete local days up to each meter's latest reading, never a projection.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from billspree.core.scoping import require_organization
from billspree.core.timefmt import zone as zone_of
from meters.models import Property
from monitoring.selectors.energy import (
    ASSIGNMENT_STARTS_CTE,
    MONTH_CEIL,
    Ref,
    cost_rows,
    no_jit,
)
from monitoring.selectors.netting import netted_rollup
from readings.rollups import rollups_version

log = logging.getLogger(__name__)

#: Months on the chart (this month and the 12 before it), each compared with a year earlier.
CHART_MONTHS = 13
TOP = 10
#: A meter not read for this long is shown amber; for ``RED_AFTER`` or longer (or never) red.
AMBER_AFTER = timedelta(hours=24)
RED_AFTER = timedelta(hours=72)
#: At most this many quiet meters are listed (stalest first); the counts cover all of them.
STALE_LISTED = 50
INTENSITY_PLACES = Decimal("0.0001")

THIS, LAST, YEAR_AGO = "this_month", "last_month", "same_month_last_year"
PERIODS = (THIS, LAST, YEAR_AGO)


def add_months(first: date, n: int) -> date:
    """The first day of the month ``n`` months after (before, if negative) ``first``'s."""
    year, month = divmod(first.year * 12 + first.month - 1 + n, 12)
    return date(year, month + 1, 1)


def month_end(first: date) -> date:
    return add_months(first, 1) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # this_month | last_month | same_month_last_year
    first: date
    last: date
    so_far: bool  # the month holds today: complete days up to the latest readings


@dataclass(slots=True)
class TypeSummary:
    """Consumption of one meter type (in one unit) in the three periods, and the chart's
    13 months with the 13 months a year earlier (``None``: no rollup in that month)."""

    meter_type: str
    unit: str
    quantities: dict[str, Decimal | None]  # period key → quantity
    months: list[Decimal | None]
    earlier: list[Decimal | None]


@dataclass(slots=True)
class CostLine:
    """Net cost of one meter type ("" for standing charges and add-ons; ``None`` for the
    total of the currency) in the three periods, from issued invoices less credit notes."""

    meter_type: str | None
    currency: str
    amounts: dict[str, Decimal | None]


@dataclass(frozen=True, slots=True)
class Consumer:
    """A billing point's use of one meter type this month, with its area and intensity."""

    property: Ref
    billing_point: Ref
    meter_type: str
    unit: str
    quantity: Decimal
    area_m2: Decimal | None
    intensity: Decimal | None  # quantity / area_m2, unit per m²


@dataclass(frozen=True, slots=True)
class Intensity:
    """This month's use per m² of one meter type over the billing points that have an area
    (``quantity`` of those points ÷ the sum of their ``area_m2``)."""

    meter_type: str
    unit: str
    quantity: Decimal
    area_m2: Decimal
    value: Decimal
    points: int


@dataclass(frozen=True, slots=True)
class QuietMeter:
    """An active meter not read for ``AMBER_AFTER`` (``level`` amber) or ``RED_AFTER`` or
    never (red), where it is and when it was last read."""

    meter: Ref  # public id, serial number
    label: str
    meter_type: str
    property: Ref
    billing_point: Ref
    time_zone: str
    last_read_at: datetime | None
    level: str  # amber | red


@dataclass
class Dashboard:
    month: date  # first day of "this month"
    today: date
    now: datetime
    time_zone: str
    property: Ref | None
    periods: dict[str, Period]
    chart_months: list[date]
    types: list[TypeSummary] = field(default_factory=list)
    costs: list[CostLine] = field(default_factory=list)
    top: dict[tuple[str, str], list[Consumer]] = field(default_factory=dict)
    intensity: list[Intensity] = field(default_factory=list)
    quiet: list[QuietMeter] = field(default_factory=list)
    active_meters: int = 0
    amber: int = 0
    red: int = 0

    @property
    def empty(self) -> bool:
        """The organization (or property) has no active meter and nothing to show."""
        return not self.active_meters and not self.types and not self.costs


def energy_dashboard(
    *, property: Property | None = None, month: date | None = None,
    now: datetime | None = None,
) -> Dashboard:
    """The dashboard of the organization in context (or of one of its ``property``) for
    ``month`` (its first day; default: the month of today in the property's zone)."""
    org = require_organization()
    now = now or timezone.now()
    tz = zone_of(property.time_zone if property is not None else org.time_zone)
    today = now.astimezone(tz).date()
    this = (month or today).replace(day=1)
    dash = Dashboard(
        month=this, today=today, now=now, time_zone=str(getattr(tz, "key", tz)),
        property=None if property is None else Ref(str(property.public_id), property.name),
        periods=_periods(this, today),
        chart_months=[add_months(this, n) for n in range(1 - CHART_MONTHS, 1)],
    )
    property_id = None if property is None else property.pk
    _from_rollups(dash, org.pk, property_id)
    _quiet(dash, org.pk, property_id)
    return dash


def _from_rollups(dash: Dashboard, org_id: int, property_id: int | None) -> None:
    """The parts read from the rollups and the invoices (1. and 2.), from the cache when an
    entry for the same organization, property, month, day and rollups version is there:
    the rollups change only when a batch completes a day (which changes the version), so
    what is cached is exact for rollups; invoices issued, assignments moved or names and
    areas edited since show after ``DASHBOARD_CACHE_SECONDS`` at most. The quiet meters
    (3.) move with every reading and with the clock and are never cached."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    key = None
    if seconds > 0:
        key = ":".join(map(str, (
            "monitoring:dashboard", connection.settings_dict["NAME"], org_id, property_id,
            dash.month, dash.today, rollups_version(org_id))))
        found = _cache_get(key)
        if found is not None:
            dash.types, dash.costs, dash.top, dash.intensity = found
            return
    _by_month(dash, org_id, property_id)
    _consumers(dash, org_id, property_id)
    if key is not None:
        _cache_set(key, (dash.types, dash.costs, dash.top, dash.intensity), seconds)


def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception:  # the cache server is down: read the database
        log.warning("dashboard cache not readable", exc_info=True)
        return None


def _cache_set(key: str, value, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception:  # the cache server is down: the page is still right
        log.warning("dashboard cache not writable", exc_info=True)


def _periods(this: date, today: date) -> dict[str, Period]:
    starts = {THIS: this, LAST: add_months(this, -1), YEAR_AGO: add_months(this, -12)}
    return {key: Period(key, first, month_end(first),
                        first <= today <= month_end(first)) for key, first in starts.items()}


# --- the assignment ranges: which billing point a meter's month counts for --------------------

#: Each assignment's range of monthly rollup keys, exactly as
#: :func:`monitoring.selectors.energy.energy_report` attributes rows (a month counts for the
#: billing point the meter was at when the month began; a first assignment also takes the
#: months before it), with only the columns the dashboard needs: no names or public ids for
#: the 2,000 meters, only for the ten billing points shown per meter type.
_RANGES = """
WITH {a0}, asg AS MATERIALIZED (
    SELECT a0.meter_id, a0.billing_point_id, m.type, m.unit,
           greatest(%(first)s::date,
                    CASE WHEN a0.n = 1 THEN '-infinity'::date ELSE {lo} END) AS lo,
           least(%(end)s::date, CASE WHEN a0.next_at IS NULL THEN 'infinity'::date
                                      ELSE {hi} END) AS hi
    FROM a0 JOIN meters_meter m ON m.id = a0.meter_id
    WHERE {property}
)
"""
_ROLLUP = """
FROM asg JOIN {netted} r
  ON r.meter_id = asg.meter_id AND r.month >= asg.lo AND r.month < asg.hi
WHERE r.month BETWEEN %(first)s AND %(last)s
""".format(netted=netted_rollup("readings_monthlyconsumption"))


def _sql(template: str, property_id: int | None) -> str:
    ranges = _RANGES.format(
        a0=ASSIGNMENT_STARTS_CTE,
        lo=MONTH_CEIL.format(x="a0.connected_at"), hi=MONTH_CEIL.format(x="a0.next_at"),
        property="true" if property_id is None else "a0.property_id = %(property)s")
    return template.format(ranges=ranges, rollup=_ROLLUP)


def _params(org_id: int, property_id: int | None, first: date,
            last: date) -> dict:
    return {"org": org_id, "property": property_id, "first": first, "last": last,
            "end": last + timedelta(days=1)}


# --- 1. months by meter type: the three periods, the chart, the cost ---------------------------

_MONTHS = """{ranges}
SELECT asg.type, asg.unit, r.month, sum(r.quantity)
{rollup}
GROUP BY 1, 2, 3
"""


def _by_month(dash: Dashboard, org_id: int, property_id: int | None) -> None:
    """One aggregate over the monthly rollups (25 months × meters rows) and one over the
    issued invoices' lines: what ``energy_report(group_by="meter_type,month")`` returns,
    without the names the dashboard does not show."""
    first, last = add_months(dash.month, -2 * (CHART_MONTHS - 1)), month_end(dash.month)
    params = _params(org_id, property_id, first, last)
    with no_jit() as cursor:
        cursor.execute(_sql(_MONTHS, property_id), params)
        rows = cursor.fetchall()
    found: dict[tuple[str, str], dict[date, Decimal]] = defaultdict(dict)
    for meter_type, unit, month, quantity in rows:
        found[(meter_type, unit)][month] = quantity
    earlier_months = [add_months(m, -12) for m in dash.chart_months]
    for (meter_type, unit), by_month in sorted(found.items()):
        dash.types.append(TypeSummary(
            meter_type, unit,
            {k: by_month.get(p.first) for k, p in dash.periods.items()},
            [by_month.get(m) for m in dash.chart_months],
            [by_month.get(m) for m in earlier_months],
        ))
    # only the three periods' months are shown: their invoices, not 25 months' (the rows
    # of those months are the same)
    costs = cost_rows(first=first, last=last, group_by=("meter_type", "month"),
                      property_id=property_id, months=[p.first for p in dash.periods.values()])
    dash.costs = _cost_lines(costs, dash.periods)


def _cost_lines(rows, periods: dict[str, Period]) -> list[CostLine]:
    """Cost rows (meter type, month, currency) → a line per meter type and currency with the
    three periods, then a total line per currency (``meter_type=None``)."""
    month_key = {p.first: k for k, p in periods.items()}
    lines: dict[tuple[str | None, str], dict[str, Decimal | None]] = {}
    for row in rows:
        key = month_key.get(row.keys["month"])
        if key is None:
            continue
        for meter_type in (row.keys["meter_type"], None):
            amounts = lines.setdefault((meter_type, row.currency), dict.fromkeys(PERIODS))
            amounts[key] = (amounts[key] or Decimal(0)) + row.amount
    ordered = sorted(lines, key=lambda k: (k[1], k[0] is None, k[0] == "", k[0] or ""))
    return [CostLine(t, c, lines[(t, c)]) for t, c in ordered]


# --- 2. this month by billing point: top consumers and intensity ------------------------------

#: This month by billing point and meter type, ranked in SQL: the ten largest per meter type
#: (ties by billing point name, then property name and the public ids: the order the energy
#: report's rows sorted by ``(-quantity, billing point name)`` had), each type's sums over
#: the billing points with an area on its first row. Names and areas only for those rows.
_CONSUMERS = """{ranges}
, points AS (
    SELECT asg.billing_point_id, asg.type, asg.unit, sum(r.quantity) AS quantity
    {rollup}
    GROUP BY 1, 2, 3
), ranked AS (
    SELECT points.type, points.unit, points.quantity, p.public_id::text AS p_pid,
           p.name AS p_name, bp.public_id::text AS bp_pid, bp.name AS bp_name,
           CASE WHEN bp.area_m2 > 0 THEN bp.area_m2 END AS area,
           row_number() OVER (PARTITION BY points.type, points.unit
                              ORDER BY points.quantity DESC, bp.name COLLATE "C",
                                       p.name COLLATE "C", p.public_id,
                                       bp.public_id) AS rank,
           sum(points.quantity) FILTER (WHERE bp.area_m2 > 0) OVER t AS area_quantity,
           sum(bp.area_m2) FILTER (WHERE bp.area_m2 > 0) OVER t AS area_sum,
           count(*) FILTER (WHERE bp.area_m2 > 0) OVER t AS area_points
    FROM points JOIN meters_billingpoint bp ON bp.id = points.billing_point_id
    JOIN meters_property p ON p.id = bp.property_id
    WINDOW t AS (PARTITION BY points.type, points.unit)
)
SELECT type, unit, quantity, p_pid, p_name, bp_pid, bp_name, area, rank, area_quantity,
       area_sum, area_points
FROM ranked WHERE rank <= %(top)s
ORDER BY type COLLATE "C", unit COLLATE "C", rank
"""


def _consumers(dash: Dashboard, org_id: int, property_id: int | None) -> None:
    period = dash.periods[THIS]
    params = _params(org_id, property_id, period.first, period.last)
    with no_jit() as cursor:
        cursor.execute(_sql(_CONSUMERS, property_id), {**params, "top": TOP})
        rows = cursor.fetchall()
    for (meter_type, unit, quantity, p_pid, p_name, bp_pid, bp_name, area, rank,
         area_quantity, area_sum, area_points) in rows:
        key = (meter_type, unit)
        dash.top.setdefault(key, []).append(Consumer(
            Ref(p_pid, p_name), Ref(bp_pid, bp_name), meter_type, unit, quantity, area,
            _per_m2(quantity, area)))
        if rank == 1 and area_points:
            dash.intensity.append(Intensity(meter_type, unit, area_quantity, area_sum,
                                            _per_m2(area_quantity, area_sum), area_points))


def _per_m2(quantity: Decimal, area: Decimal | None) -> Decimal | None:
    if not area:
        return None
    return (quantity / area).quantize(INTENSITY_PLACES)


# --- 3. meters that have gone quiet ------------------------------------------------------------

#: One query: the active meters' latest-reading state (the row ingestion keeps, never the
#: readings), counted, and the stalest ``limit`` of the quiet ones with where they are (a
#: row of counts with nulls when none is quiet).
_QUIET = """
WITH active AS MATERIALIZED (
    SELECT a.meter_id, a.billing_point_id, s.last_read_at
    FROM meters_meterassignment a
    JOIN meters_billingpoint bp ON bp.id = a.billing_point_id
    LEFT JOIN readings_meterreadingstate s ON s.meter_id = a.meter_id
    WHERE a.organization_id = %(org)s AND a.removed_at IS NULL AND a.connected_at <= %(now)s
      AND {property}
), counts AS (
    SELECT count(*) AS n,
           count(*) FILTER (WHERE last_read_at <= %(amber)s AND last_read_at > %(red)s) AS amber,
           count(*) FILTER (WHERE last_read_at IS NULL OR last_read_at <= %(red)s) AS red
    FROM active
)
SELECT c.n, c.amber, c.red, q.*
FROM counts c LEFT JOIN LATERAL (
    SELECT m.public_id::text AS m_pid, m.serial_number, m.label, m.type,
           p.public_id::text AS p_pid, p.name AS p_name, bp.public_id::text AS bp_pid,
           bp.name AS bp_name, p.time_zone, x.last_read_at
    FROM active x
    JOIN meters_meter m ON m.id = x.meter_id
    JOIN meters_billingpoint bp ON bp.id = x.billing_point_id
    JOIN meters_property p ON p.id = bp.property_id
    WHERE x.last_read_at IS NULL OR x.last_read_at <= %(amber)s
    ORDER BY x.last_read_at NULLS FIRST, m.serial_number
    LIMIT %(limit)s
) q ON true
ORDER BY q.last_read_at NULLS FIRST, q.serial_number
"""


def _quiet(dash: Dashboard, org_id: int, property_id: int | None) -> None:
    """Active meters (an open assignment that has begun) whose latest reading is 24 hours
    old or more, or that were never read."""
    params = {"org": org_id, "now": dash.now, "amber": dash.now - AMBER_AFTER,
              "red": dash.now - RED_AFTER, "property": property_id, "limit": STALE_LISTED}
    where = "true" if property_id is None else "bp.property_id = %(property)s"
    with connection.cursor() as cursor:
        cursor.execute(_QUIET.format(property=where), params)
        rows = cursor.fetchall()
    dash.active_meters, dash.amber, dash.red = rows[0][:3]
    for (m_pid, serial, label, meter_type, p_pid, p_name, bp_pid, bp_name, tz,
         last_read_at) in (row[3:] for row in rows):
        if m_pid is None:  # none quiet: the counts' row only
            break
        red = last_read_at is None or last_read_at <= params["red"]
        dash.quiet.append(QuietMeter(Ref(m_pid, serial), label, meter_type, Ref(p_pid, p_name),
                                     Ref(bp_pid, bp_name), tz, last_read_at,
                                     "red" if red else "amber"))
