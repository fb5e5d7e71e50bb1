"""Benchmark ``consumption``: one month for 10,000 meters with the consumption selector.

    .venv/bin/python bench/consumption.py            # 10,000 meters
    .venv/bin/python bench/consumption.py --small    # 1,000 meters

Set-up: every bench meter gets a reading every 12 hours from 30 December 2000 12:00 to
2 February 2001 (raw COPY, ~67 per meter). Measured, medians of several runs:

* ``meter_consumption`` for all meters over January 2001 (a few set-based queries:
  assignments, states, and the readings around every boundary at once). Target: < 2 s.
* Baseline, same run: one query per meter (the same neighbour lookups at the two
  boundaries, one meter at a time), i.e. the N+1 design the selector avoids.
* Once: ``consumption_rollups_rebuild`` of January for all meters (the daily/monthly
  rollups a chart reads; normally kept by ingestion), and reading the month back from
  ``MonthlyConsumption`` for all meters (``rollup_read_s``), checked equal to the selector.

Last line: ``BENCH consumption seconds=… baseline_seconds=… speedup=… meters=…``
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date, timedelta
from pathlib import Path

import readings_setup as b
from django.db import connection

from billspree.core.scoping import organization_context
from readings.models import MonthlyConsumption
from readings.selectors import meter_consumption
from readings.services import consumption_rollups_rebuild

JANUARY = (b.START, b.START + timedelta(days=31))
PER_METER_SQL = """
SELECT (SELECT total FROM readings_reading WHERE meter_id = %(m)s AND read_at <= %(s)s
        ORDER BY read_at DESC LIMIT 1),
       (SELECT total FROM readings_reading WHERE meter_id = %(m)s AND read_at >= %(s)s
        ORDER BY read_at LIMIT 1),
       (SELECT total FROM readings_reading WHERE meter_id = %(m)s AND read_at <= %(e)s
        ORDER BY read_at DESC LIMIT 1),
       (SELECT total FROM readings_reading WHERE meter_id = %(m)s AND read_at >= %(e)s
        ORDER BY read_at LIMIT 1)
"""


def selector(ids: list[int]) -> dict:
    result = meter_consumption(meter_ids=ids, start=JANUARY[0], end=JANUARY[1])
    assert not any(c.missing or c.estimated for c in result.values())
    return result


def per_meter(ids: list[int]) -> None:
    with connection.cursor() as cursor:
        for meter_id in ids:
            cursor.execute(PER_METER_SQL, {"m": meter_id, "s": JANUARY[0], "e": JANUARY[1]})
            cursor.fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1,000 meters")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    meter_count = 1_000 if args.small else 10_000
    org = b.bench_org()
    with organization_context(org), tempfile.TemporaryDirectory() as folder:
        meters = b.bench_meters(org, meter_count)
        ids = list(meters.values())
        b.reset(ids)
        start = b.START - timedelta(hours=36)
        _, copy_path = b.write_files(Path(folder), org.pk, meters, 68, start, timedelta(hours=12))
        b.copy_file(copy_path)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE readings_reading")
        fast, slow = [], []
        for run in range(args.runs):
            fast.append(b.timed(lambda: selector(ids)))
            slow.append(b.timed(lambda: per_meter(ids)))
            print(f"run {run + 1}: selector {fast[-1]:.3f} s, one query per meter {slow[-1]:.3f} s")
        expected = selector(ids)
        rebuild = b.timed(
            lambda: consumption_rollups_rebuild(first=date(2001, 1, 1), last=date(2001, 1, 31))
        )
        months = {}
        read = b.timed(lambda: months.update(_months(ids)))
        assert all(months[m] == expected[m].quantity for m in ids), "rollups differ"
        b.reset(ids)
    seconds, baseline = b.median(fast), b.median(slow)
    print(f"rollups: rebuild of January {rebuild:.2f} s, month read back {read:.3f} s")
    print(
        f"BENCH consumption seconds={seconds:.3f} baseline_seconds={baseline:.3f} "
        f"speedup={baseline / seconds:.1f} meters={meter_count} runs={args.runs} "
        f"rollup_rebuild_s={rebuild:.2f} rollup_read_s={read:.3f}"
    )


def _months(ids: list[int]) -> dict:
    rows = MonthlyConsumption.objects.filter(meter_id__in=ids, month=date(2001, 1, 1))
    return dict(rows.values_list("meter_id", "quantity"))


if __name__ == "__main__":
    main()
