"""The energy report: consumption (and cost) by property, billing point, meter type, meter,
month, day or hour over a period of local days. The one selector the report page, the API
and (later) the exports use.

**Consumption** comes only from the consumption rollups of ``readings`` (hourly, daily,
monthly per meter; built by the same segment arithmetic as invoices, complete local days
only), set-based: the *grain* is the coarsest table that answers the request (hours if
grouped by hour, days if grouped by day or the period is not whole months, months
otherwise), so a year by property and month reads 12 rows per meter. Two statements: the
assignments in the report (a few rows per meter, with their ranges and names), then the
rollups summed by one hash aggregate per output group (the dimensions' values and the
unit, numbered in the report's order in Python), so PostgreSQL groups and sorts small
integers and each output row comes back as a group number, its time keys and a quantity.

**Billing points are a view, not a table.** A meter's rollup row is attributed to the
billing point (and property) of the meter's assignment *at the start of the row's period*;
the row in which a meter moves (a day, a month, an hour) counts for the billing point it
was at when that period began, and a first assignment also takes the period it was
connected in. A table per billing point would have to be rewritten whenever an
assignment's dates are corrected, and would duplicate every meter row; the view costs an
index range scan per assignment (``lo``/``hi`` per assignment, in the grain's own key),
and a move is as exact as the grain asked for (group by day or hour for a mid-month move).

**Every kWh counts once.** Above the meter level a main meter contributes only what its
sub-meters do not measure (main − subs; :mod:`monitoring.selectors.netting`: here each
sub-meter's rows are summed again, negated, over its main meter's assignment ranges), so a
property's total is its main meter's, not main + subs, and the main meter's billing point
shows the common use and losses. Grouped by meter, or for one meter, it is what it
measured.

**Cost** is read from issued (and paid) invoices: the net amounts of their lines, less the
lines of their credit notes, in the invoice's currency, by the local month the invoice
period starts in ("monitoring reads what billing reads"). Lines carry their meter type
(usage lines); standing charges and add-ons have none and show as ``meter_type=""``. Cost
is available grouped by property, billing point, meter type and month only. Whole local
months (the dashboard's, a report by month) come from billing's cost rollup
(``billing.models.MonthlyCost``: those sums by billing point, month and meter type, kept by
the database as invoices are issued, voided and credited); a period that cuts a month, or
one meter's cost, from the invoices and lines themselves. Tests hold the two equal.

Every query is filtered by the organization of the scoping context (fails closed without one).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import DateRange

from billspree.core.scoping import require_organization
from monitoring.selectors.netting import NettingGap, netting_gaps

GROUPS = ("property", "billing_point", "meter_type", "meter", "month", "day", "hour")
COST_GROUPS = frozenset({"property", "billing_point", "meter_type", "month"})
#: The longest period a report covers, and the longest grouped by hour (rows per meter).
MAX_DAYS = 3 * 366
MAX_HOUR_DAYS = 366
#: The widest offset of a time zone from UTC: the hours of local days lie within this of
#: the same UTC days.
ZONE_SPAN = timedelta(hours=15)
ONE_DAY = timedelta(days=1)


class Ref(NamedTuple):
    """A property, billing point or meter in a row: its public id and its name."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class EnergyRow:
    keys: dict[str, Any]
    unit: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class CostRow:
    keys: dict[str, Any]
    currency: str
    amount: Decimal


@dataclass
class EnergyReport:
    first: date
    last: date
    group_by: tuple[str, ...]
    grain: str
    rows: list[EnergyRow] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)  # unit → quantity
    costs: list[CostRow] | None = None  # None: not available for this grouping
    cost_totals: dict[str, Decimal] = field(default_factory=dict)  # currency → net amount
    #: Days a main meter in the report was netted of less than all its sub-meters (their
    #: readings lag): its remainder there still holds their use. Empty by meter.
    incomplete: list[NettingGap] = field(default_factory=list)


def parse_group_by(raw: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """``"property,month"`` (or a list) → the groups in the report's fixed order."""
    if raw is None or raw == "":
        return ()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    items = [i.strip() for i in items if i.strip()]
    unknown = [i for i in items if i not in GROUPS]
    if unknown:
        raise ValidationError({"group_by": [
            f"Unknown group {', '.join(map(repr, unknown))}: use any of {', '.join(GROUPS)}."]})
    return tuple(g for g in GROUPS if g in items)


def check_days(first: date | None, last: date | None, *, max_days: int, what: str) -> int:
    """The number of local days in [first, last]; a ValidationError naming ``from``/``to``
    when one is missing, the period ends before it begins or is longer than ``max_days``
    ("A <what> covers at most …"). Shared by the monitoring selectors' period checks."""
    errors: dict[str, list[str]] = {}
    if first is None:
        errors["from"] = ["Give the first local day of the period (YYYY-MM-DD)."]
    if last is None:
        errors["to"] = ["Give the last local day of the period (YYYY-MM-DD, inclusive)."]
    if errors:
        raise ValidationError(errors)
    if last < first:
        raise ValidationError({"to": [f"The period ends ({last}) before it begins ({first})."]})
    days = (last - first).days + 1
    if days > max_days:
        raise ValidationError({"to": [f"A {what} covers at most {max_days} days; this is "
                                      f"{days}."]})
    return days


def check_period(first: date | None, last: date | None, group_by: tuple[str, ...]) -> None:
    days = check_days(first, last, max_days=MAX_DAYS, what="report")
    if "hour" in group_by and days > MAX_HOUR_DAYS:
        raise ValidationError({"group_by": [
            f"Grouped by hour a report covers at most {MAX_HOUR_DAYS} days; this is {days}."]})


def energy_report(
    *,
    first: date | None,
    last: date | None,
    group_by: tuple[str, ...] | list[str] | str | None = (),
    property_id: int | None = None,
    billing_point_id: int | None = None,
    meter_id: int | None = None,
    meter_type: str | None = None,
) -> EnergyReport:
    """Consumption (and cost) over the local days [first, last], grouped and filtered."""
    groups = parse_group_by(group_by)
    check_period(first, last, groups)
    org = require_organization()
    grain = _grain(first, last, groups)
    filters = {"property_id": property_id, "billing_point_id": billing_point_id,
               "meter_id": meter_id, "meter_type": meter_type or None}
    report = EnergyReport(first, last, groups, grain)
    mains: dict[int, str] = {}
    report.rows, report.totals = _energy_rows(org.pk, first, last, groups, grain, filters,
                                              mains)
    report.incomplete = netting_gaps(organization_id=org.pk, mains=mains, first=first,
                                     last=last)
    if set(groups) <= COST_GROUPS:
        report.costs = cost_rows_filtered(org.pk, first, last, groups, filters)
        for c in report.costs:
            report.cost_totals[c.currency] = report.cost_totals.get(c.currency, 0) + c.amount
    return report


def _grain(first: date, last: date, groups: tuple[str, ...]) -> str:
    if "hour" in groups:
        return "hour"
    whole_months = first.day == 1 and (last + timedelta(days=1)).day == 1
    return "day" if "day" in groups or not whole_months else "month"


# --- consumption ------------------------------------------------------------------------------

_TABLES = {  # table, row key, the period as a plain filter (a superset for hours)
    "hour": ("readings_hourlyconsumption", "r.hour",
             "r.hour >= %(scan_lo)s AND r.hour < %(scan_hi)s"),
    "day": ("readings_dailyconsumption", "r.day", "r.day BETWEEN %(first)s AND %(last)s"),
    "month": ("readings_monthlyconsumption", "r.month", "r.month BETWEEN %(first)s AND %(last)s"),
}
#: The period as row keys [start, end) of each assignment's zone: folded into the
#: assignment's own range, so a row is tested by two plain comparisons (an ``AT TIME
#: ZONE`` per row of a year of hours costs more than the aggregate).
_PERIOD = {
    "hour": ("(%(first)s::timestamp AT TIME ZONE a0.tz)",
             "(%(end)s::timestamp AT TIME ZONE a0.tz)"),
    "day": ("%(first)s::date", "%(end)s::date"),
    "month": ("%(first)s::date", "%(end)s::date"),
}

#: The first row key of a grain that begins at or after an instant ``x`` (timestamptz):
#: a row belongs to the assignment in effect when its period begins.
_CEIL = {
    "hour": "{x}",
    "day": "((({x}) AT TIME ZONE a0.tz) - interval '1 microsecond')::date + 1",
    "month": "(date_trunc('month', (({x}) AT TIME ZONE a0.tz) - interval '1 microsecond')"
             " + interval '1 month')::date",
}
#: The first month (its first day) that begins at or after ``{x}``, in the zone ``a0.tz``.
MONTH_CEIL = _CEIL["month"]
_INFINITY = {"hour": "'{sign}infinity'::timestamptz", "day": "'{sign}infinity'::date",
             "month": "'{sign}infinity'::date"}

_DIMENSIONS = {  # group → (select expressions: name first, so rows sort by it; how many)
    "property": ("asg.property_name, asg.property_pid", 2),
    "billing_point": ("asg.bp_name, asg.bp_pid", 2),
    "meter_type": ("asg.type", 1),
    "meter": ("asg.serial_number, asg.meter_pid", 2),
}
_TIME = {  # (grain, group) → expression
    ("month", "month"): "r.month",
    ("day", "month"): "date_trunc('month', r.day)::date",
    ("hour", "month"): "date_trunc('month', r.hour AT TIME ZONE asg.tz)::date",
    ("day", "day"): "r.day",
    ("hour", "day"): "(r.hour AT TIME ZONE asg.tz)::date",
    ("hour", "hour"): "r.hour",
}

#: The assignments of the report, one row each: the meter, its zone and unit, the row-key
#: range [lo, hi) it covers within the period, and the columns of every dimension.
#: ``a0``: every assignment of the organization with its property's zone, its rank among
#: the meter's assignments (``n``) and when the next one begins (``next_at``), from which
#: the row-key ranges are worked out (here and in the dashboard).
ASSIGNMENT_STARTS_CTE = """a0 AS (
    SELECT a.meter_id, a.billing_point_id, bp.property_id, p.time_zone AS tz, a.connected_at,
           row_number() OVER w AS n, lead(a.connected_at) OVER w AS next_at
    FROM meters_meterassignment a
    JOIN meters_billingpoint bp ON bp.id = a.billing_point_id
    JOIN meters_property p ON p.id = bp.property_id
    WHERE a.organization_id = %(org)s
    WINDOW w AS (PARTITION BY a.meter_id ORDER BY a.connected_at)
)"""
_ASSIGNMENTS_SQL = """
WITH {a0}, asg AS (
    SELECT a0.meter_id, a0.tz, m.type, m.unit, m.public_id::text AS meter_pid,
           m.serial_number, bp.public_id::text AS bp_pid, bp.name AS bp_name,
           p.public_id::text AS property_pid, p.name AS property_name,
           greatest({start}, CASE WHEN a0.n = 1 THEN {minus_inf} ELSE {lo} END) AS lo,
           least({end}, CASE WHEN a0.next_at IS NULL THEN {plus_inf} ELSE {hi} END) AS hi
    FROM a0
    JOIN meters_meter m ON m.id = a0.meter_id
    JOIN meters_billingpoint bp ON bp.id = a0.billing_point_id
    JOIN meters_property p ON p.id = a0.property_id
    WHERE {filters}
)
SELECT asg.meter_id, asg.tz, asg.lo, asg.hi, {subs} AS subs, {dims} asg.unit
FROM asg WHERE asg.lo < asg.hi
"""
#: The sub-meters a main meter's assignment is netted of (same type and unit), or none.
_SUBS = {True: "(SELECT array_agg(s.id ORDER BY s.id) FROM meters_meter s"
               " WHERE s.parent_id = asg.meter_id AND s.organization_id = %(org)s"
               " AND s.type = asg.type AND s.unit = asg.unit)",
         False: "NULL::bigint[]"}

#: The consumption of each output group (its assignments are the slice [s, e] of the
#: arrays), summed by the time keys in one hash aggregate per group: grouping the whole
#: join by names and units at once, PostgreSQL cannot estimate how few groups there are
#: and sorted the 4.4 M hours of a year on disk instead of hashing them.
_ENERGY_SQL = """
SELECT g.gid, {times_out} x.quantity
FROM unnest(%(gid)s::int[], %(gs)s::int[], %(ge)s::int[], %(dim_rank)s::int[],
            %(unit_rank)s::int[]) AS g(gid, s, e, dim_rank, unit_rank)
CROSS JOIN LATERAL (
    SELECT {times_in} sum({quantity}) AS quantity
    FROM unnest((%(meter)s::bigint[])[g.s:g.e], (%(lo)s::{key_type}[])[g.s:g.e],
                (%(hi)s::{key_type}[])[g.s:g.e], (%(tz)s::text[])[g.s:g.e],
                (%(sign)s::int[])[g.s:g.e])
         AS a(meter_id, lo, hi, tz, sign)
    JOIN {table} r ON r.meter_id = a.meter_id AND {key} >= a.lo AND {key} < a.hi
    WHERE r.organization_id = %(org)s AND {scan}
    {group}
) x
ORDER BY {order}
"""
_KEY_TYPES = {"hour": "timestamptz", "day": "date", "month": "date"}

_ENERGY_FILTERS = {
    "property_id": "a0.property_id = %(property_id)s",
    "billing_point_id": "a0.billing_point_id = %(billing_point_id)s",
    "meter_id": "a0.meter_id = %(meter_id)s",
    "meter_type": "m.type = %(meter_type)s",
}


def _text_order(value):
    """A sort key of a column as ``ORDER BY value COLLATE "C" NULLS LAST`` orders it (UTF-8
    bytes sort as code points do, so Python's order of the same strings)."""
    return (value is None, value)


def _energy_rows(org_id, first, last, groups, grain, filters, mains: dict[int, str]):
    """The report's rows and totals by unit; the netted main meters (id → zone) go into
    ``mains``.

    Two statements: the assignments (a few rows per meter), then the rollups by one hash
    aggregate per output group. The groups (the dimensions' values and the unit) are
    numbered here, in the rows' order, so the big statement groups and sorts small
    integers and returns three or four columns a row."""
    table, key, scan = _TABLES[grain]
    start, end = _PERIOD[grain]
    dims = [g for g in groups if g in _DIMENSIONS]
    times = [g for g in groups if g not in _DIMENSIONS]
    select, widths = _select(tuple(dims), grain, _DIMENSIONS, _TIME)
    params = {"org": org_id, "first": first, "last": last, "end": last + timedelta(days=1),
              "scan_lo": datetime.combine(first, time(0), UTC) - ZONE_SPAN,
              "scan_hi": datetime.combine(last, time(0), UTC) + ONE_DAY + ZONE_SPAN, **filters}
    # by meter (or of one meter) a main meter is what it measured; above, it is netted of
    # its sub-meters: each sub-meter's rows are summed again, negated, in the main meter's
    # assignment ranges (monitoring.selectors.netting says why)
    netting = "meter" not in groups and filters.get("meter_id") is None
    with _no_jit() as cursor:
        cursor.execute(_SETTINGS + _ASSIGNMENTS_SQL.format(
            a0=ASSIGNMENT_STARTS_CTE, subs=_SUBS[netting],
            minus_inf=_INFINITY[grain].format(sign="-"),
            plus_inf=_INFINITY[grain].format(sign=""),
            lo=_CEIL[grain].format(x="a0.connected_at"), hi=_CEIL[grain].format(x="a0.next_at"),
            filters=_where(filters, _ENERGY_FILTERS), dims=select, start=start, end=end,
        ), params)
        assignments = cursor.fetchall()
        if not assignments:
            return [], {}
        # The output groups: the dimension columns and the unit, numbered in row order.
        by_group: dict[tuple, list] = {}
        for row in assignments:
            by_group.setdefault(tuple(row[5:]), []).append(row)
        dim_values = sorted({k[:-1] for k in by_group},
                            key=lambda k: tuple(map(_text_order, k)))
        dim_rank = {k: n for n, k in enumerate(dim_values)}
        unit_rank = {u: n for n, u in enumerate(sorted({k[-1] for k in by_group},
                                                        key=_text_order))}
        arrays: dict[str, list] = {n: [] for n in
                                   ("gid", "gs", "ge", "dim_rank", "unit_rank",
                                    "meter", "lo", "hi", "tz", "sign")}
        plan = _key_plan(dims, widths)
        refs: dict = {}
        info = []  # gid → (keys of the dimensions, unit)
        for gid, (group_key, rows) in enumerate(by_group.items()):
            arrays["gid"].append(gid)
            arrays["gs"].append(len(arrays["meter"]) + 1)
            for meter_id, tz, lo, hi, subs, *_ in rows:
                if subs:
                    mains[meter_id] = tz
                for m_id, sign in ((meter_id, 1), *((s, -1) for s in subs or ())):
                    arrays["meter"].append(m_id)
                    arrays["lo"].append(lo)
                    arrays["hi"].append(hi)
                    arrays["tz"].append(tz)
                    arrays["sign"].append(sign)
            arrays["ge"].append(len(arrays["meter"]))
            arrays["dim_rank"].append(dim_rank[group_key[:-1]])
            arrays["unit_rank"].append(unit_rank[group_key[-1]])
            info.append((_dimension_keys(plan, group_key, refs), group_key[-1]))
        time_exprs = [_TIME[(grain, g)].replace("asg.", "a.") for g in times]
        names = [f"t{n}" for n in range(len(times))]
        sql = _ENERGY_SQL.format(
            times_out="".join(f"x.{n}, " for n in names),
            times_in="".join(f"{e} AS {n}, " for e, n in zip(time_exprs, names, strict=True)),
            # without time keys: one row per group that has any rollup row
            group=f"GROUP BY {', '.join(names)}" if names else "HAVING count(*) > 0",
            order=", ".join(["g.dim_rank", *(f"x.{n}" for n in names), "g.unit_rank"]),
            key_type=_KEY_TYPES[grain], key=key, scan=scan, table=table,
            quantity="r.quantity * a.sign" if -1 in arrays["sign"] else "r.quantity",
        )
        cursor.execute(sql, {**params, **arrays})
        with _gc_paused():
            return _energy_objects(times, info, cursor.fetchall())


@contextmanager
def _gc_paused():
    """The cyclic garbage collector off while a large report's rows are fetched and built:
    they hold no cycles, but each few hundred new tuples and dicts start a collection that
    walks the ever longer list of them (with it on, building a year by billing point and
    day took four to five times as long)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _key_plan(dims, widths) -> list[tuple[str, int, bool]]:
    """(group, first column, whether a name/public-id pair) for each dimension."""
    plan, at = [], 0
    for g, width in zip(dims, widths, strict=True):
        plan.append((g, at, width == 2))
        at += width
    return plan


def _dimension_keys(plan, values, refs: dict) -> dict[str, Any]:
    """The keys of a group's dimensions (one shared :class:`Ref` per property/point/meter)."""
    keys = {}
    for g, i, pair in plan:
        if pair:
            ref = refs.get(values[i + 1])
            if ref is None or ref.name != values[i]:
                ref = refs[values[i + 1]] = Ref(values[i + 1], values[i])
            keys[g] = ref
        else:
            keys[g] = values[i]
    return keys


_new_row = EnergyRow.__new__
_set_keys, _set_unit, _set_quantity = (EnergyRow.keys.__set__, EnergyRow.unit.__set__,
                                       EnergyRow.quantity.__set__)


def _energy_objects(times, info, found: list[tuple]):
    """:class:`EnergyRow` objects of the fetched rows ``(gid, *time keys, quantity)``, and
    the totals by unit (in the order the units first appear). A year by billing point and
    day is ~18,000 rows per 50 meters, so this loop is the selector's Python cost: the
    slots are filled directly (a frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` per field, three times slower), a row's keys are a copy of its
    group's, and the totals are summed per group."""
    out = []
    append = out.append
    sums: dict[int, list] = {}
    if len(times) == 1:
        name = times[0]
        for gid, t, quantity in found:
            base, unit = info[gid]
            keys = base.copy()
            keys[name] = t
            obj = _new_row(EnergyRow)
            _set_keys(obj, keys)
            _set_unit(obj, unit)
            _set_quantity(obj, quantity)
            append(obj)
            got = sums.get(gid)
            if got is None:
                got = sums[gid] = []
            got.append(quantity)
    else:
        for row in found:
            gid, quantity = row[0], row[-1]
            base, unit = info[gid]
            keys = base.copy()
            for n, name in enumerate(times, 1):
                keys[name] = row[n]
            obj = _new_row(EnergyRow)
            _set_keys(obj, keys)
            _set_unit(obj, unit)
            _set_quantity(obj, quantity)
            append(obj)
            sums.setdefault(gid, []).append(quantity)
    totals: dict[str, Decimal] = {}
    for gid, quantities in sums.items():
        unit = info[gid][1]
        totals[unit] = totals.get(unit, Decimal(0)) + sum(quantities, Decimal(0))
    return out, totals


#: Settings of the report's transaction, sent with its first statement (no round-trip of
#: its own): no JIT, as the range joins' estimates are high enough to trigger it and
#: compiling costs more (up to seconds) than the aggregate itself; 64 MB for a hash
#: aggregate (a year of hours is 8,760 groups per output group, ~4.5 MB).
_SETTINGS = "SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; "


@contextmanager
def no_jit():
    """A cursor in a transaction without JIT: the range joins' estimates are high enough to
    trigger it, and compiling costs more (up to seconds) than the aggregate itself. With
    64 MB for the hash aggregate: a year by billing point and day (365 groups per point,
    each keyed by name and public id) spilled to disk in 5 batches at the default 4 MB."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SETTINGS)
        yield cursor


@contextmanager
def _no_jit():
    """A cursor in a transaction; its first statement must start with :data:`_SETTINGS`."""
    with transaction.atomic(), connection.cursor() as cursor:
        yield cursor


def _select(groups, grain, dimensions, times) -> tuple[str, list[int]]:
    parts, widths = [], []
    for g in groups:
        if g in dimensions:
            expr, width = dimensions[g]
        else:
            expr, width = times[(grain, g)], 1
        parts.append(expr)
        widths.append(width)
    return "".join(f"{p}, " for p in parts), widths


def _where(filters: dict, clauses: dict) -> str:
    used = [clauses[name] for name, value in filters.items() if value is not None]
    return " AND ".join(used) or "true"


def _keys(groups, widths, row, refs: dict) -> dict[str, Any]:
    """A row's keys by group; ``refs`` shares one :class:`Ref` per property/point/meter."""
    keys, at = {}, 0
    for g, width in zip(groups, widths, strict=True):
        if width == 2:
            pair = (row[at + 1], row[at])
            keys[g] = refs.get(pair) or refs.setdefault(pair, Ref(*pair))
        else:
            keys[g] = row[at]
        at += width
    return keys


# --- cost -----------------------------------------------------------------------------------

_COST_DIMENSIONS = {
    "property": ("p.name, p.public_id::text", 2),
    "billing_point": ("bp.name, bp.public_id::text", 2),
    "meter_type": ("x.meter_type", 1),
}
_COST_TIME = {(None, "month"): "date_trunc('month', x.local_start)::date"}
#: the names of properties and billing points, joined only when grouped by them
_COST_NAMES = """JOIN meters_billingpoint bp ON bp.id = x.billing_point_id
JOIN meters_property p ON p.id = bp.property_id"""

#: Net amounts of issued (and paid) invoices' lines, and of the credit-note lines against
#: them (negative), by the local day the invoice period begins (``local_start``: the
#: period's start in its property's zone). Invoices first: ``c``, the organization's issued
#: or paid invoices whose period begins within ``ZONE_SPAN`` of the spans' UTC days (the
#: index on ``(organization_id, period_start)``, constants the planner estimates from the
#: statistics), each converted to local time once; ``i``, those that begin on a local day
#: of a span. Then their lines and credit notes by ``invoice_id``. The cost of three months
#: reads those months' invoices and lines, not every line of the organization. The spans
#: are disjoint, so an invoice counts once.
_COST_SQL = """
WITH c AS MATERIALIZED (
    SELECT i.id, i.currency, i.billing_point_id,
           i.period_start AT TIME ZONE p.time_zone AS local_start
    FROM billing_invoice i
    JOIN meters_billingpoint bp ON bp.id = i.billing_point_id
    JOIN meters_property p ON p.id = bp.property_id
    WHERE i.organization_id = %(org)s AND i.status IN ('issued', 'paid')
      AND ({instants}) AND {invoice_filters}
), i AS MATERIALIZED (
    SELECT * FROM c WHERE c.local_start::date <@ ANY (%(days)s::daterange[])
), x AS (
    SELECT i.currency, i.billing_point_id, i.local_start, l.meter_type, l.meter_id, l.amount
    FROM i JOIN billing_invoiceline l ON l.invoice_id = i.id
    WHERE l.organization_id = %(org)s
    UNION ALL
    SELECT i.currency, i.billing_point_id, i.local_start, coalesce(il.meter_type, ''),
           il.meter_id, c.amount
    FROM i JOIN billing_creditnote cn ON cn.invoice_id = i.id
    JOIN billing_creditnoteline c ON c.credit_note_id = cn.id
    LEFT JOIN billing_invoiceline il ON il.id = c.invoice_line_id
    WHERE c.organization_id = %(org)s
)
SELECT {dims} x.currency, sum(x.amount)
FROM x {names}
WHERE {line_filters}
GROUP BY {group_cols}
ORDER BY {group_cols}
"""
_COST_INSTANTS = "i.period_start >= %(lo{n})s AND i.period_start < %(hi{n})s"

#: Whole local months without a meter filter: the same sums from billing's cost rollup
#: (``billing.models.MonthlyCost``: by billing point, local month and meter type, kept by
#: the database as invoices are issued, voided and credited), a few rows per billing point
#: and month instead of its invoices and lines. ``i`` and ``bp`` as in :data:`_COST_SQL`, so
#: the same filters apply.
_COST_ROLLUP_SQL = """
WITH x AS (
    SELECT i.currency, i.billing_point_id, i.month AS local_start, i.meter_type, i.amount
    FROM billing_monthlycost i {point_join}
    WHERE i.organization_id = %(org)s AND i.month = ANY(%(months)s::date[])
      AND {invoice_filters}
)
SELECT {dims} x.currency, sum(x.amount)
FROM x {names}
WHERE {line_filters}
GROUP BY {group_cols}
ORDER BY {group_cols}
"""

_COST_INVOICE_FILTERS = {
    "property_id": "bp.property_id = %(property_id)s",
    "billing_point_id": "i.billing_point_id = %(billing_point_id)s",
}
_COST_LINE_FILTERS = {
    "meter_id": "x.meter_id = %(meter_id)s",
    "meter_type": "x.meter_type = %(meter_type)s",
}


def cost_rows(*, first: date, last: date, group_by: tuple[str, ...],
              property_id: int | None = None,
              months: list[date] | tuple[date, ...] | None = None) -> list[CostRow]:
    """The cost rows :func:`energy_report` returns for ``group_by`` (a subset of
    ``COST_GROUPS``), without its consumption query (for the dashboard, which reads
    consumption its own way). ``months`` (first days): only the invoices whose period
    begins in those local months (within [first, last]) are read; the rows of those months
    are the same as without it, the others are left out."""
    groups = parse_group_by(group_by)
    check_period(first, last, groups)
    if not set(groups) <= COST_GROUPS:
        raise ValueError(f"cost is not available by {groups}")
    filters = {"property_id": property_id, "billing_point_id": None, "meter_id": None,
               "meter_type": None}
    return cost_rows_filtered(require_organization().pk, first, last, groups, filters, months)


def _cost_spans(first: date, last: date, months) -> list[tuple[date, date]]:
    """The disjoint local-day spans whose invoices are read: [first, last], or each month
    of ``months`` cut to it."""
    if months is None:
        return [(first, last)]
    spans = []
    for m in sorted({m.replace(day=1) for m in months}):
        end = (m + timedelta(days=32)).replace(day=1) - ONE_DAY
        if max(m, first) <= min(end, last):
            spans.append((max(m, first), min(end, last)))
    return spans


def whole_months(spans: list[tuple[date, date]]) -> list[date] | None:
    """The first days of the months the spans cover when each is whole local months."""
    months = []
    for a, z in spans:
        if a.day != 1 or (z + ONE_DAY).day != 1:
            return None
        while a <= z:
            months.append(a)
            a = (a + timedelta(days=32)).replace(day=1)
    return months


def cost_rows_filtered(org_id, first, last, groups, filters, months=None, *,
               source: str = "") -> list[CostRow]:
    """``source``: "lines" or "rollup" forces one (tests compare them); by default the
    rollup answers whole months without a meter filter, the lines everything else."""
    spans = _cost_spans(first, last, months)
    if not spans:
        return []
    select, widths = _select(groups, None, _COST_DIMENSIONS, _COST_TIME)
    invoice_filters = {k: v for k, v in filters.items() if k in _COST_INVOICE_FILTERS}
    line_filters = {k: v for k, v in filters.items() if k in _COST_LINE_FILTERS}
    whole = whole_months(spans)
    if source == "rollup" or (not source and whole is not None
                              and filters.get("meter_id") is None):
        if whole is None or filters.get("meter_id") is not None:
            raise ValueError("the cost rollup holds whole months, by billing point")
        sql = _COST_ROLLUP_SQL
        params = {"org": org_id, **filters, "months": whole}
    else:
        sql = _COST_SQL.replace("{instants}", " OR ".join(
            f"({_COST_INSTANTS.format(n=n)})" for n in range(len(spans))))
        params = {"org": org_id, **filters,
                  "days": [DateRange(a, z, "[]") for a, z in spans]}
        for n, (a, z) in enumerate(spans):
            # a local day lies within ZONE_SPAN of the same UTC day
            params[f"lo{n}"] = datetime.combine(a, time(), UTC) - ZONE_SPAN
            params[f"hi{n}"] = datetime.combine(z, time(), UTC) + ONE_DAY + ZONE_SPAN
    sql = sql.format(
        dims=select, invoice_filters=_where(invoice_filters, _COST_INVOICE_FILTERS),
        line_filters=_where(line_filters, _COST_LINE_FILTERS),
        names=_COST_NAMES if {"property", "billing_point"} & set(groups) else "",
        point_join=("JOIN meters_billingpoint bp ON bp.id = i.billing_point_id"
                    if invoice_filters.get("property_id") is not None else ""),
        group_cols=", ".join(str(n + 1) for n in range(sum(widths) + 1)),
    )
    with _no_jit() as cursor:
        cursor.execute(_SETTINGS + sql, params)
        found = cursor.fetchall()
    refs: dict = {}
    return [CostRow(_keys(groups, widths, row, refs), row[-2], row[-1]) for row in found]


def row_instant(value: Any) -> bool:
    """Whether a key value is an instant (the ``hour`` group) rather than a local date."""
    return isinstance(value, datetime)
