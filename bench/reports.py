"""Benchmark ``reports``: a one-year energy report through the report selector against a
bare SQL aggregate over the same rollup table, in the same run.

    .venv/bin/python bench/reports.py            # 500 meters × a year of hourly data
    .venv/bin/python bench/reports.py --small    # 50 meters

Data (built set-based, never a Python loop per row): a "Bench reports" organization with
5 properties (Europe/Zurich) of 100 billing points, one electricity meter each (every
20th a cold-water meter), hourly readings over local 1999 (``INSERT … SELECT
generate_series``, into the 1998-12 … 2000-01 partitions, which nothing else uses), and
their hourly, daily and monthly rollups derived by SQL from those readings. Readings on
the hour make each hourly rollup the difference of two consecutive readings; the script
checks that claim by recomputing a sample (3 meters × 3 days including the 28 March DST
day) with ``rollups_rebuild`` (the production path) and comparing every row.

Timed, alternating, medians of ``--runs``:

* ``report_s``: ``energy_report`` for the year grouped by hour (8,760 rows summed over all
  meters from ~4.4 M hourly rows: the heaviest report), against the bare
  ``SELECT hour, sum(quantity) FROM readings_hourlyconsumption WHERE meter_id = ANY(…)
  AND hour … GROUP BY hour`` (``ratio`` = bare / report; target report < 2 s and ratio ≥
  0.5). Also printed: the same aggregate filtered by ``organization_id`` instead
  (``org_scan_bare_s``): on this table, which holds nothing but the bench's rows, it is a
  sequential scan, a plan that a table shared by many organizations and years would not
  allow;
* ``property_month_s`` and ``bp_day_s``: by property and month (monthly rollups), by
  billing point and day (daily rollups), each with its own bare aggregate and ratio.

* ``export_s`` and ``export_rss_mb``: ``GET /api/v1/readings/export.csv`` (API key, the
  in-process HTTP stack, the streamed response consumed chunk by chunk) of ~1,000,000
  readings (the first 115 meters × the local year's 8,760 hours: 1,007,400 rows; at
  ``--small`` all 50 meters: 438,000), in a **child process** started after the data is
  built, so the parent's set-up does not count: ``export_s`` is the child's median time
  from request to last byte over up to 3 runs, ``export_rss_mb`` the child's peak RSS
  (``VmHWM``, Django loaded included; ``export_base_rss_mb`` is the same child after a
  warm-up request of an empty period, which loads every URL module and view). Target
  ≤ 10 s and < 150 MB. The child also checks the row count and the first data line.
* ``dashboard_p95_ms``: ``bench.dashboard.dashboard_p95_ms(small=…)`` when that module
  exists (the dashboard's own bench), else ``na``.

Last line: ``BENCH reports meters=… report_s=… ratio=… … export_s=… export_rss_mb=…
dashboard_p95_ms=…``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import readings_setup as b  # noqa: F401  (Django set-up)
from django.db import connection, transaction

from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from monitoring.selectors import energy_report
from readings.models import DailyConsumption, HourlyConsumption
from readings.partitions import partition_name, partitions_ensure
from readings.rollups import meter_zones, rollups_rebuild

ORG_NAME = "Bench reports (bench/reports.py)"
YEAR = 1999
MONTHS = [(1998, 12)] + [(YEAR, m) for m in range(1, 13)] + [(2000, 1)]
ZONE = "Europe/Zurich"


def setup(org: Organization, count: int) -> list[int]:
    """``count`` meters on their own billing points over 5 properties (made once)."""
    ids = list(Meter.objects.filter(serial_number__startswith="RPT-")
               .order_by("serial_number").values_list("id", flat=True))
    if len(ids) >= count:
        return ids[:count]
    props = [Property.objects.get_or_create(name=f"Bench block {n}",
                                            defaults={"time_zone": ZONE})[0] for n in range(5)]
    have = len(ids)
    serials = [f"RPT-{n:04d}" for n in range(have, count)]
    points = BillingPoint.objects.bulk_create([
        BillingPoint(organization=org, property=props[n % 5], connection_id=s, name=s)
        for n, s in enumerate(serials, have)])
    meters = Meter.objects.bulk_create([
        Meter(organization=org, serial_number=s, register_digits=9,
              type=MeterType.COLD_WATER if n % 20 == 0 else MeterType.ELECTRICITY,
              unit="m³" if n % 20 == 0 else "kWh")
        for n, s in enumerate(serials, have)])
    with connection.cursor() as cursor:  # connected at local midnight of 1 Jan 1999
        cursor.execute("SELECT %s::timestamp AT TIME ZONE %s", [date(YEAR, 1, 1), ZONE])
        start = cursor.fetchone()[0]
    MeterAssignment.objects.bulk_create([
        MeterAssignment(organization=org, meter=m, billing_point=p, connected_at=start)
        for m, p in zip(meters, points, strict=True)])
    return setup(org, count)


#: Hourly readings of every meter over the local year (and one hour past it); the n-th
#: meter uses (1 + n mod 7)/4 an hour with a daily ripple, never decreasing.
_READINGS = """
INSERT INTO readings_reading (organization_id, meter_id, read_at, value, total, source,
                              quality, is_anomaly, created_at)
SELECT %(org)s, m.id, t.at, v.value, v.value, 'api', 'actual', false, now()
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS m(id, n)
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz, interval '1 hour')
    WITH ORDINALITY AS t(at, k)
CROSS JOIN LATERAL (SELECT round(t.k * (1 + m.n %% 7) / 4.0 + (t.k %% 24) * 0.01, 4)
                    AS value) v
"""

#: The rollups of those readings (on the hour: an hour is the difference of two readings).
_HOURS = """
INSERT INTO readings_hourlyconsumption (organization_id, meter_id, hour, quantity)
SELECT %(org)s, meter_id, read_at, q FROM (
    SELECT meter_id, read_at, lead(total) OVER w - total AS q FROM readings_reading
    WHERE meter_id = ANY(%(ids)s) AND read_at >= %(start)s AND read_at <= %(end)s
    WINDOW w AS (PARTITION BY meter_id ORDER BY read_at)) h
WHERE q IS NOT NULL AND read_at < %(end)s
"""
_DAYS = """
INSERT INTO readings_dailyconsumption (organization_id, meter_id, day, quantity)
SELECT %(org)s, meter_id, (hour AT TIME ZONE %(zone)s)::date, sum(quantity)
FROM readings_hourlyconsumption WHERE meter_id = ANY(%(ids)s) GROUP BY 2, 3
"""
_MONTHS = """
INSERT INTO readings_monthlyconsumption (organization_id, meter_id, month, quantity, days)
SELECT %(org)s, meter_id, date_trunc('month', day)::date, sum(quantity), count(*)
FROM readings_dailyconsumption WHERE meter_id = ANY(%(ids)s) GROUP BY 2, 3
"""


def build(org: Organization, ids: list[int]) -> None:
    partitions_ensure(MONTHS)
    cleanup(ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamp AT TIME ZONE %s, %s::timestamp AT TIME ZONE %s",
                       [date(YEAR, 1, 1), ZONE, date(YEAR + 1, 1, 1), ZONE])
        start, end = cursor.fetchone()
        params = {"org": org.pk, "ids": ids, "start": start, "end": end, "zone": ZONE}
        for name, sql in (("readings", _READINGS), ("hours", _HOURS), ("days", _DAYS),
                          ("months", _MONTHS)):
            began = time.perf_counter()
            with transaction.atomic():
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(sql, params)
            print(f"built {name}: {cursor.rowcount:,} rows in {time.perf_counter() - began:.1f} s")
        for table in ("meters_meter", "meters_meterassignment", "meters_billingpoint",
                      "readings_hourlyconsumption", "readings_reading"):
            cursor.execute(f"ANALYZE {table}")  # as autovacuum would have
        cursor.execute("ANALYZE readings_dailyconsumption")
        cursor.execute("ANALYZE readings_monthlyconsumption")


def check_sample(org: Organization, ids: list[int]) -> None:
    """The SQL-built rollups equal what the production rebuild writes (3 meters × 3 days)."""
    sample, first, last = ids[:3], date(YEAR, 3, 27), date(YEAR, 3, 29)
    tables = (HourlyConsumption, DailyConsumption)
    built = [sorted(t.objects.filter(meter_id__in=sample).values_list()) for t in tables]
    with transaction.atomic():
        rollups_rebuild(organization_id=org.pk, zones=meter_zones(sample, org.time_zone),
                        first=first, last=last)
        rebuilt = [sorted(t.objects.filter(meter_id__in=sample).values_list()) for t in tables]
        transaction.set_rollback(True)
    assert rebuilt == built, "SQL-built rollups differ from rollups_rebuild"
    print("sample check: rollups_rebuild of 3 meters × 27–29 Mar (23-hour day) = SQL-built rows")


def cleanup(ids: list[int]) -> None:
    with connection.cursor() as cursor:
        for year, month in MONTHS:
            cursor.execute(f"TRUNCATE {partition_name(year, month)}")  # constant names
        for table in ("hourlyconsumption", "dailyconsumption", "monthlyconsumption"):
            cursor.execute(f"DELETE FROM readings_{table} WHERE meter_id = ANY(%s)",  # noqa: S608
                           [ids])


_BARE = {
    "hour": "SELECT hour, sum(quantity) FROM readings_hourlyconsumption WHERE "
            "meter_id = ANY(%(ids)s) AND hour >= %(start)s AND hour < %(end)s GROUP BY hour",
    "hour_by_org": "SELECT hour, sum(quantity) FROM readings_hourlyconsumption WHERE "
            "organization_id = %(org)s AND hour >= %(start)s AND hour < %(end)s GROUP BY hour",
    "property_month": "SELECT p.id, r.month, m.unit, sum(r.quantity) FROM "
            "readings_monthlyconsumption r JOIN meters_meterassignment a ON a.meter_id = "
            "r.meter_id JOIN meters_billingpoint bp ON bp.id = a.billing_point_id JOIN "
            "meters_property p ON p.id = bp.property_id JOIN meters_meter m ON m.id = r.meter_id "
            "WHERE r.organization_id = %(org)s AND r.month BETWEEN %(first)s AND %(last)s "
            "GROUP BY 1, 2, 3",
    "bp_day": "SELECT a.billing_point_id, r.day, sum(r.quantity) FROM readings_dailyconsumption r "
              "JOIN meters_meterassignment a ON a.meter_id = r.meter_id WHERE r.organization_id "
              "= %(org)s AND r.day BETWEEN %(first)s AND %(last)s GROUP BY 1, 2",
}
_GROUPS = {"hour": "hour", "hour_by_org": "hour", "property_month": "property,month",
           "bp_day": "billing_point,day"}


def bare(name: str, org: Organization, ids: list[int]) -> int:
    """The bare aggregate, without JIT as the selector runs (see ``monitoring.selectors``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SELECT %s::timestamp AT TIME ZONE %s, %s::timestamp AT TIME ZONE %s",
                       [date(YEAR, 1, 1), ZONE, date(YEAR + 1, 1, 1), ZONE])
        start, end = cursor.fetchone()
        cursor.execute(_BARE[name], {"org": org.pk, "ids": ids, "start": start, "end": end,
                                     "first": date(YEAR, 1, 1), "last": date(YEAR, 12, 31)})
        return len(cursor.fetchall())


def product(name: str) -> int:
    report = energy_report(first=date(YEAR, 1, 1), last=date(YEAR, 12, 31),
                           group_by=_GROUPS[name])
    return len(report.rows)


def timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


#: Meters of the export: 115 × 8,760 hours ≈ 1,000,000 readings.
EXPORT_METERS = 115


def hwm_mb() -> float:
    """This process's peak RSS (``VmHWM``): ``ru_maxrss`` would not do in a child, Linux keeps
    it across ``execve``, so it starts at the parent's peak (the data building's)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return b.peak_rss_mb()


def export_child(argv: list[str]) -> None:
    """In a fresh process: GET the export with an API key, consume the stream, print JSON."""
    secret, meters, expect = argv[0], argv[1], int(argv[2])
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    empty = client.get("/api/v1/readings/export.csv", {"meter": meters, "from": "2150-01-01"})
    assert b"".join(empty.streaming_content).count(b"\n") == 1  # warm-up: URLs, views loaded
    base = hwm_mb()
    times = []
    for _ in range(int(argv[3])):
        began = time.perf_counter()
        response = client.get("/api/v1/readings/export.csv",
                              {"meter": meters, "from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"})
        assert response.status_code == 200, response.status_code
        rows, size, first = 0, 0, b""
        for chunk in response.streaming_content:
            rows += chunk.count(b"\n")
            size += len(chunk)
            first = first if first.count(b"\n") > 1 else first + chunk[:400]
        response.close()
        times.append(time.perf_counter() - began)
        assert rows - 1 == expect, (rows, expect)
    print(json.dumps({"times": times, "rows": rows - 1, "bytes": size, "base_rss_mb": base,
                      "peak_rss_mb": hwm_mb(), "first": first[:400].decode()}))


def export(org: Organization, count: int, runs: int) -> dict:
    """Time the readings export in a child process (see the module doc)."""
    from billspree.core.models import ApiKeyScope
    from billspree.core.services import api_key_create

    n = min(count, EXPORT_METERS)
    serials = list(Meter.objects.filter(serial_number__startswith="RPT-")
                   .order_by("serial_number").values_list("serial_number", flat=True)[:n])
    key, secret = api_key_create(name="bench reports export", scopes=[ApiKeyScope.READ],
                                 actor=None)
    try:
        out = subprocess.run(  # noqa: S603 - our own script, our arguments
            [sys.executable, str(Path(__file__).resolve()), "--export-child", secret,
             ",".join(serials), str(n * 8760), str(min(runs, 3))],
            check=True, capture_output=True, text=True)
    finally:
        key.delete()
    found = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"export: {found['rows']:,} rows, {found['bytes'] / 1e6:.1f} MB of CSV in "
          f"{', '.join(f'{t:.2f}' for t in found['times'])} s; child peak RSS "
          f"{found['peak_rss_mb']:.0f} MB ({found['base_rss_mb']:.0f} MB after a warm-up "
          f"request)\n  {found['first'].splitlines()[1]}")
    return found


def dashboard(small: bool) -> str:
    """The dashboard bench's p95 (``bench/dashboard.py``, another part of issue 18), or na."""
    try:
        from bench.dashboard import dashboard_p95_ms
    except ImportError as exc:
        print(f"dashboard: na ({exc})")
        return "na"
    return f"{dashboard_p95_ms(small=small):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="50 meters")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the data for another run")
    parser.add_argument("--export-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        return export_child(args.export_child)
    count = 50 if args.small else 500
    org = Organization.objects.filter(name=ORG_NAME).first() or Organization.objects.create(
        name=ORG_NAME, time_zone=ZONE)
    with organization_context(org):
        ids = setup(org, count)
        build(org, ids)
        check_sample(org, ids)
        results = {}
        for name in _BARE:
            assert bare(name, org, ids) > 0 and (name == "hour_by_org" or product(name) > 0)
            mine, base = [], []
            for _ in range(args.runs):
                if name != "hour_by_org":  # the same report as "hour"
                    mine.append(timed(lambda name=name: product(name)))
                base.append(timed(lambda name=name: bare(name, org, ids)))
            results[name] = (b.median(mine or [results["hour"][0]]), b.median(base))
            print(f"{name}: report {results[name][0]:.3f} s, bare SQL {results[name][1]:.3f} s, "
                  f"ratio {results[name][1] / results[name][0]:.2f}")
        exported = export(org, count, args.runs)
        if not args.keep:
            cleanup(ids)
    p95 = dashboard(args.small)
    (report_s, bare_s) = results["hour"]
    pm, bd, org_wide = results["property_month"], results["bp_day"], results["hour_by_org"]
    export_s = b.median(exported["times"])
    print(
        f"BENCH reports meters={count} report_s={report_s:.3f} ratio={bare_s / report_s:.2f} "
        f"bare_s={bare_s:.3f} hourly_rows={count * 8760} runs={args.runs} "
        f"property_month_s={pm[0]:.3f} property_month_ratio={pm[1] / pm[0]:.2f} "
        f"bp_day_s={bd[0]:.3f} bp_day_ratio={bd[1] / bd[0]:.2f} "
        f"org_scan_bare_s={org_wide[1]:.3f} org_scan_ratio={org_wide[1] / report_s:.2f} "
        f"export_rows={exported['rows']} export_base_rss_mb={exported['base_rss_mb']:.0f} "
        f"export_s={export_s:.2f} export_rss_mb={exported['peak_rss_mb']:.0f} "
        f"dashboard_p95_ms={p95}"
    )


if __name__ == "__main__":
    main()
