"""The energy dashboard of an organization or of one property: what was used this month,
how that compares with last month and the same month a year ago, what it cost, who uses
most, how much per m², and which meters have gone quiet.

Why it is built on :func:`monitoring.selectors.energy.energy_report` and nothing else for
energy and cost: "monitoring reads what billing reads". Consumption comes from the
consumption rollups (complete local days, the invoices' arithmetic), cost from issued
invoices less credit notes, by the local month an invoice period starts in, exactly as the
energy report computes them; the dashboard only chooses periods and ranks.

A fixed, small number of queries whatever the number of meters:

1. the 25 months ``this month − 24 … this month`` by meter type and month (one energy
   query on the monthly rollups, one cost query): this, last and the same month last year,
   and the 13-month chart with the 13 months a year earlier;
2. this month by property, billing point and meter type (the top consumers and the
   intensity per m²) and the areas of the billing points that have one;
3. the meters that have not been read for 24 hours (from each meter's reading state, the
   row ingestion keeps), stalest first, and how many active meters there are.

"This month" is the calendar month of today in the property's time zone (the
organization's for the organization dashboard), or a month asked for. Its value is *so
far*: the complete local days up to each meter's latest reading, never a projection.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from billspree.core.scoping import require_organization
from billspree.core.timefmt import zone as zone_of
from meters.models import BillingPoint, Property
from monitoring.selectors.energy import Ref, energy_report

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
    _by_month(dash, property_id)
    _consumers(dash, property_id)
    _quiet(dash, org.pk, property_id)
    return dash


def _periods(this: date, today: date) -> dict[str, Period]:
    starts = {THIS: this, LAST: add_months(this, -1), YEAR_AGO: add_months(this, -12)}
    return {key: Period(key, first, month_end(first),
                        first <= today <= month_end(first)) for key, first in starts.items()}


# --- 1. months by meter type: the three periods, the chart, the cost ---------------------------


def _by_month(dash: Dashboard, property_id: int | None) -> None:
    first = add_months(dash.month, -2 * (CHART_MONTHS - 1))
    report = energy_report(first=first, last=month_end(dash.month),
                           group_by="meter_type,month", property_id=property_id)
    found: dict[tuple[str, str], dict[date, Decimal]] = defaultdict(dict)
    for row in report.rows:
        found[(row.keys["meter_type"], row.unit)][row.keys["month"]] = row.quantity
    earlier_months = [add_months(m, -12) for m in dash.chart_months]
    for (meter_type, unit), by_month in sorted(found.items()):
        dash.types.append(TypeSummary(
            meter_type, unit,
            {k: by_month.get(p.first) for k, p in dash.periods.items()},
            [by_month.get(m) for m in dash.chart_months],
            [by_month.get(m) for m in earlier_months],
        ))
    dash.costs = _cost_lines(report.costs or [], dash.periods)


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


def _consumers(dash: Dashboard, property_id: int | None) -> None:
    period = dash.periods[THIS]
    report = energy_report(first=period.first, last=period.last,
                           group_by="property,billing_point,meter_type", property_id=property_id)
    areas = _areas(property_id)
    ranked: dict[tuple[str, str], list[Consumer]] = defaultdict(list)
    with_area: dict[tuple[str, str], list[Consumer]] = defaultdict(list)
    for row in report.rows:
        bp = row.keys["billing_point"]
        area = areas.get(bp.id)
        consumer = Consumer(row.keys["property"], bp, row.keys["meter_type"], row.unit,
                            row.quantity, area, _per_m2(row.quantity, area))
        ranked[(consumer.meter_type, consumer.unit)].append(consumer)
        if consumer.intensity is not None:
            with_area[(consumer.meter_type, consumer.unit)].append(consumer)
    for key in sorted(ranked):
        dash.top[key] = sorted(ranked[key], key=lambda c: (-c.quantity, c.billing_point.name))[:TOP]
    for (meter_type, unit), points in sorted(with_area.items()):
        quantity = sum((c.quantity for c in points), Decimal(0))
        area = sum((c.area_m2 for c in points), Decimal(0))
        dash.intensity.append(Intensity(meter_type, unit, quantity, area,
                                        _per_m2(quantity, area), len(points)))


def _areas(property_id: int | None) -> dict[str, Decimal]:
    """Public id → area of the billing points (of the property) that have a positive area."""
    points = BillingPoint.objects.filter(area_m2__gt=0)
    if property_id is not None:
        points = points.filter(property_id=property_id)
    return {str(pid): area for pid, area in points.values_list("public_id", "area_m2")}


def _per_m2(quantity: Decimal, area: Decimal | None) -> Decimal | None:
    if not area:
        return None
    return (quantity / area).quantize(INTENSITY_PLACES)


# --- 3. meters that have gone quiet ------------------------------------------------------------

_ACTIVE = """
FROM meters_meterassignment a
JOIN meters_meter m ON m.id = a.meter_id
JOIN meters_billingpoint bp ON bp.id = a.billing_point_id
JOIN meters_property p ON p.id = bp.property_id
LEFT JOIN readings_meterreadingstate s ON s.meter_id = a.meter_id
WHERE a.organization_id = %(org)s AND a.removed_at IS NULL AND a.connected_at <= %(now)s
  AND {property}
"""
_COUNTS = """
SELECT count(*),
       count(*) FILTER (WHERE s.last_read_at <= %(amber)s AND s.last_read_at > %(red)s),
       count(*) FILTER (WHERE s.last_read_at IS NULL OR s.last_read_at <= %(red)s)
""" + _ACTIVE
_QUIET = """
SELECT m.public_id::text, m.serial_number, m.label, m.type, p.public_id::text, p.name,
       bp.public_id::text, bp.name, p.time_zone, s.last_read_at
""" + _ACTIVE + """
  AND (s.last_read_at IS NULL OR s.last_read_at <= %(amber)s)
ORDER BY s.last_read_at NULLS FIRST, m.serial_number
LIMIT %(limit)s
"""


def _quiet(dash: Dashboard, org_id: int, property_id: int | None) -> None:
    """Active meters (an open assignment that has begun) whose latest reading is 24 hours
    old or more, or that were never read."""
    params = {"org": org_id, "now": dash.now, "amber": dash.now - AMBER_AFTER,
              "red": dash.now - RED_AFTER, "property": property_id, "limit": STALE_LISTED}
    where = "true" if property_id is None else "p.id = %(property)s"
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS.format(property=where), params)
        dash.active_meters, dash.amber, dash.red = cursor.fetchone()
        if not dash.amber and not dash.red:
            return
        cursor.execute(_QUIET.format(property=where), params)
        rows = cursor.fetchall()
    for (m_pid, serial, label, meter_type, p_pid, p_name, bp_pid, bp_name, tz,
         last_read_at) in rows:
        red = last_read_at is None or last_read_at <= params["red"]
        dash.quiet.append(QuietMeter(Ref(m_pid, serial), label, meter_type, Ref(p_pid, p_name),
                                     Ref(bp_pid, bp_name), tz, last_read_at,
                                     "red" if red else "amber"))
