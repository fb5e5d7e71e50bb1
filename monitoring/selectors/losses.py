"""Loss analysis: each main meter against the sum of its sub-meters, per hour, day or month
of a period of local days, and how its common-area use would be allocated.

**Where the numbers come from.** Only the consumption rollups of ``readings`` (the same
segment arithmetic as invoices, complete local days only): hours from the hourly rollup,
days and months from the daily one (a month is the sum of its days *inside the period*,
so a month is complete only if every one of its days is). The gap arithmetic (sum of
the sub-meters, loss, per cent) is :mod:`readings.losses`, shared with the building
statement. One set-based statement per question: the periods of every main meter are
generated in SQL (in the main meter's zone: a DST day has 23 or 25 hours), crossed with
the main and its sub-meters and joined to the rollup rows.

**Incomplete, not loss.** A period is *incomplete* when the main meter, or a sub-meter
that was connected (assigned) during it, has no rollup row for some part of it (its
readings do not cover it yet, or they stopped). Counting the missing sub-meter as zero
would show its whole use as loss, so an incomplete period's loss is empty, it is left out
of every total, and it names the meters that lack data. A sub-meter that was not
connected (before its first or after its last assignment, e.g. a replaced meter) is not
expected and does not make a period incomplete.

**Allocation.** The common-area use of a main meter over its complete periods is the
unmetered remainder (the loss, when positive) plus the use of its sub-meters at
common-area billing points. It is split over the other billing points behind the main
meter (a sub-meter's billing point: its latest assignment in the period) three ways: by
area (``area_m2``; points without an area get nothing), by consumption share (their
metered use in the complete periods) and equally, each with
:func:`readings.losses.allocate` (rounded to 0.001, largest remainder, ties in billing
point name order: the parts add up to the whole).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q

from billspree.core.scoping import require_organization
from billspree.core.timefmt import local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment
from readings import losses

GRAINS = ("hour", "day", "month")
MAX_DAYS = 3 * 366
MAX_HOUR_DAYS = 92
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class MeterRef:
    id: str
    serial_number: str
    label: str

    @property
    def name(self) -> str:
        return f"{self.serial_number} {self.label}".strip()


@dataclass(frozen=True, slots=True)
class LossPeriod:
    """One hour (an aware instant), day or month (a local date) of one main meter."""

    key: date | datetime
    main: Decimal | None
    subs: Decimal | None
    #: the meters (main or sub) that lack data in this period; empty: complete
    missing: tuple[MeterRef, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def loss(self) -> Decimal | None:
        return losses.loss(self.main, self.subs) if self.complete else None

    @property
    def percent(self) -> Decimal | None:
        return losses.loss_percent(self.main, self.subs) if self.complete else None

    @property
    def reason(self) -> str:
        if not self.missing:
            return ""
        return "No data from " + ", ".join(m.serial_number for m in self.missing)


@dataclass
class SubMeterUse:
    meter: MeterRef
    #: its use in the complete periods
    quantity: Decimal
    billing_point: str
    billing_point_id: str
    common_area: bool
    area_m2: Decimal | None


@dataclass
class Allocation:
    billing_point: str
    billing_point_id: str
    area_m2: Decimal | None
    consumption: Decimal
    by_area: Decimal | None
    by_consumption: Decimal | None
    equally: Decimal


@dataclass
class MainLoss:
    meter: MeterRef
    unit: str
    zone: ZoneInfo
    property_name: str
    sub_count: int
    periods: list[LossPeriod] = field(default_factory=list)
    subs_use: list[SubMeterUse] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def complete_periods(self) -> list[LossPeriod]:
        return [p for p in self.periods if p.complete]

    @property
    def incomplete_count(self) -> int:
        return sum(1 for p in self.periods if not p.complete)

    @property
    def main_total(self) -> Decimal:
        return sum((p.main for p in self.complete_periods), Decimal(0))

    @property
    def subs_total(self) -> Decimal:
        return sum((p.subs for p in self.complete_periods), Decimal(0))

    @property
    def loss(self) -> Decimal | None:
        if not self.complete_periods:
            return None
        return losses.loss(self.main_total, self.subs_total)

    @property
    def percent(self) -> Decimal | None:
        if not self.complete_periods:
            return None
        return losses.loss_percent(self.main_total, self.subs_total)

    @property
    def common_use(self) -> Decimal:
        """Unmetered remainder (if positive) + sub-meters at common areas, complete periods."""
        gap = self.loss or Decimal(0)
        return max(gap, Decimal(0)) + sum((s.quantity for s in self.subs_use if s.common_area),
                                          Decimal(0))


@dataclass
class LossReport:
    first: date
    last: date
    grain: str
    mains: list[MainLoss]


def check_params(first: date | None, last: date | None, grain: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if first is None:
        errors["from"] = ["Give the first local day of the period (YYYY-MM-DD)."]
    if last is None:
        errors["to"] = ["Give the last local day of the period (YYYY-MM-DD, inclusive)."]
    if grain not in GRAINS:
        errors["grain"] = [f"Unknown grain {grain!r}: use any of {', '.join(GRAINS)}."]
    if errors:
        raise ValidationError(errors)
    if last < first:
        raise ValidationError({"to": [f"The period ends ({last}) before it begins ({first})."]})
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise ValidationError({"to": [f"A loss report covers at most {MAX_DAYS} days; this is "
                                      f"{days}."]})
    if grain == "hour" and days > MAX_HOUR_DAYS:
        raise ValidationError({"grain": [f"By hour a loss report covers at most "
                                         f"{MAX_HOUR_DAYS} days; this is {days}."]})


def loss_report(*, first: date | None, last: date | None, grain: str = "day",
                main_id: int | None = None, detail: bool = False) -> LossReport:
    """Every main meter of the organization (or only ``main_id``) over the local days
    [first, last] by ``grain``; with ``detail`` also each sub-meter's use and the
    allocation of the common-area use."""
    check_params(first, last, grain)
    org = require_organization()
    mains = list(Meter.objects.filter(sub_meters__isnull=False).distinct()
                 .filter(**({"pk": main_id} if main_id else {}))
                 .order_by("serial_number"))
    report = LossReport(first, last, grain, [])
    if not mains:
        return report
    zones = _zones(mains, ZoneInfo(str(org.time_zone)))
    subs = losses.sub_meters(m.pk for m in mains)
    members = {m.pk: m for m in Meter.objects.filter(
        pk__in=[m.pk for m in mains] + [s for ids in subs.values() for s in ids])}
    refs = {pk: MeterRef(str(m.public_id), m.serial_number, m.label) for pk, m in members.items()}
    out: dict[int, MainLoss] = {}
    for m in mains:
        tz, prop = zones[m.pk]
        out[m.pk] = MainLoss(refs[m.pk], m.unit, tz, prop, len(subs[m.pk]))
    sql, params = _sql(org.pk, first, last, grain, mains, zones)
    with _no_jit() as cursor:
        cursor.execute(sql.format(select=_PERIODS_SELECT), params)
        for main_id_, key, main_q, subs_q, missing in cursor.fetchall():
            out[main_id_].periods.append(LossPeriod(
                key, main_q, subs_q,
                tuple(sorted((refs[x] for x in missing or ()), key=lambda r: r.serial_number))))
        if detail:
            cursor.execute(sql.format(select=_METERS_SELECT), params)
            used = {(row[0], row[1]): row[2] or Decimal(0) for row in cursor.fetchall()}
    for main in out.values():
        main.periods.sort(key=lambda p: p.key)
    if detail:
        for m in mains:
            _detail(out[m.pk], subs[m.pk], refs, used, m.pk, first, last)
    report.mains = list(out.values())
    return report


def _zones(mains: list[Meter], default: ZoneInfo) -> dict[int, tuple[ZoneInfo, str]]:
    """Each main meter's zone and property: its latest assignment's (else the org's)."""
    found: dict[int, tuple[ZoneInfo, str]] = {m.pk: (default, "") for m in mains}
    rows = (MeterAssignment.objects.filter(meter__in=mains).order_by("meter_id", "connected_at")
            .values_list("meter_id", "billing_point__property__time_zone",
                         "billing_point__property__name"))
    for meter_id, zone, name in rows:
        found[meter_id] = (ZoneInfo(str(zone)), name)
    return found


def _detail(main: MainLoss, sub_ids: list[int], refs, used, main_pk, first, last) -> None:
    start = local_midnight(first, main.zone)
    end = local_midnight(last + ONE_DAY, main.zone)
    where: dict[int, BillingPoint] = {}
    for a in (MeterAssignment.objects.filter(meter_id__in=sub_ids, connected_at__lt=end)
              .filter(Q(removed_at__isnull=True) | Q(removed_at__gt=start))
              .select_related("billing_point").order_by("connected_at")):
        where[a.meter_id] = a.billing_point  # the latest assignment in the period wins
    for s in sub_ids:
        bp = where.get(s)
        if bp is None:
            continue  # not connected in the period: nothing to show or allocate
        main.subs_use.append(SubMeterUse(
            refs[s], used.get((main_pk, s), Decimal(0)), bp.name, str(bp.public_id),
            bp.kind == BillingPoint.Kind.COMMON_AREA, bp.area_m2))
    points: dict[str, list[SubMeterUse]] = {}
    for u in main.subs_use:
        if not u.common_area:
            points.setdefault(u.billing_point_id, []).append(u)
    ordered = sorted(points.values(), key=lambda us: us[0].billing_point)
    keys = [us[0].billing_point_id for us in ordered]
    consumption = {k: sum((u.quantity for u in us), Decimal(0)) for k, us in zip(keys, ordered,
                                                                                 strict=True)}
    area = {k: us[0].area_m2 for k, us in zip(keys, ordered, strict=True)}
    whole = main.common_use
    by_area = losses.allocate(whole, losses.weights_of(area))
    by_use = losses.allocate(whole, losses.weights_of(consumption))
    equally = losses.allocate(whole, losses.equal_weights(keys))
    for k, us in zip(keys, ordered, strict=True):
        main.allocations.append(Allocation(
            us[0].billing_point, k, area[k], consumption[k],
            by_area.get(k) if by_area else None, by_use.get(k) if by_use else None,
            equally.get(k, Decimal(0))))


# --- SQL ------------------------------------------------------------------------------------

#: The periods of each main meter as cells: [lo, hi) instants, the rollup row's key and
#: the period's key (an hour, a day, the month of a day), in the main meter's zone.
_SLOTS = {
    "hour": """SELECT z.main_id, h AS row_key, h AS lo, h + interval '1 hour' AS hi, h AS pkey
        FROM zones z CROSS JOIN LATERAL generate_series(
            %(first)s::timestamp AT TIME ZONE z.tz,
            (%(end)s::timestamp AT TIME ZONE z.tz) - interval '1 hour', interval '1 hour') h""",
    "day": """SELECT z.main_id, d::date AS row_key, d::date::timestamp AT TIME ZONE z.tz AS lo,
            (d::date + 1)::timestamp AT TIME ZONE z.tz AS hi, d::date AS pkey
        FROM zones z CROSS JOIN generate_series(%(first)s::date, %(last)s::date,
                                                interval '1 day') d""",
}
_SLOTS["month"] = _SLOTS["day"].replace("d::date AS pkey",
                                        "date_trunc('month', d)::date AS pkey")
_ROLLUP = {"hour": ("readings_hourlyconsumption", "hour"),
           "day": ("readings_dailyconsumption", "day"),
           "month": ("readings_dailyconsumption", "day")}

_SQL = """
WITH zones AS (
    SELECT * FROM unnest(%(main_ids)s::bigint[], %(zones)s::text[]) AS z(main_id, tz)
), members AS (
    SELECT main_id, main_id AS meter_id, true AS is_main FROM zones
    UNION ALL
    SELECT s.parent_id, s.id, false FROM meters_meter s
    WHERE s.organization_id = %(org)s AND s.parent_id = ANY(%(main_ids)s::bigint[])
), slots AS ({slots}
), cells AS (
    SELECT sl.main_id, sl.pkey, mb.meter_id, mb.is_main, r.quantity,
           mb.is_main OR EXISTS (
               SELECT 1 FROM meters_meterassignment a
               WHERE a.meter_id = mb.meter_id AND a.connected_at < sl.hi
                 AND (a.removed_at IS NULL OR a.removed_at > sl.lo)) AS expected
    FROM slots sl JOIN members mb ON mb.main_id = sl.main_id
    LEFT JOIN {table} r ON r.meter_id = mb.meter_id AND r.{key} = sl.row_key
        AND r.organization_id = %(org)s
), periods AS (
    SELECT main_id, pkey,
           sum(quantity) FILTER (WHERE is_main) AS main_q,
           sum(quantity) FILTER (WHERE NOT is_main) AS subs_q,
           array_agg(DISTINCT meter_id) FILTER (WHERE quantity IS NULL AND expected) AS missing
    FROM cells GROUP BY main_id, pkey
)
{select}
"""
_PERIODS_SELECT = "SELECT main_id, pkey, main_q, coalesce(subs_q, 0), missing FROM periods"
#: Each member's use in its main meter's complete periods.
_METERS_SELECT = """SELECT c.main_id, c.meter_id, sum(c.quantity) FROM cells c
JOIN periods p ON p.main_id = c.main_id AND p.pkey = c.pkey AND p.missing IS NULL
GROUP BY c.main_id, c.meter_id"""


@contextmanager
def _no_jit():
    """A cursor without JIT (the generated periods' estimates would trigger it, and
    compiling costs more than the query), in a transaction for ``SET LOCAL``."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield cursor


def _sql(org_id, first, last, grain, mains, zones) -> tuple[str, dict[str, Any]]:
    table, key = _ROLLUP[grain]
    sql = _SQL.replace("{slots}", _SLOTS[grain]).replace("{table}", table).replace("{key}", key)
    params = {"org": org_id, "first": first, "last": last, "end": last + ONE_DAY,
              "main_ids": [m.pk for m in mains], "zones": [str(zones[m.pk][0]) for m in mains]}
    return sql, params
