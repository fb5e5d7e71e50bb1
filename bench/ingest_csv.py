"""Benchmark ``ingest_csv``: a CSV through the real import path vs raw COPY of the same rows.

    .venv/bin/python bench/ingest_csv.py            # 1,000,000 readings, 10,000 meters
    .venv/bin/python bench/ingest_csv.py --small    # 20,000 readings, 1,000 meters

The service path streams a CSV (meterNumber, readAt, value; readings every 15 minutes)
through ``csv_rows`` and ``reading_ingest`` all or nothing, exactly as an uploaded file
is imported: parsing, every validation rule, unwrapped totals, per-meter state, COPY,
and the daily/monthly consumption rollups of the days the file completes. The baseline
COPYs the same rows, already resolved to table columns, into the same partitioned table.
Runs alternate; medians are compared. Target: ratio ≥ 0.33, peak RSS < 300 MB.

Last line: ``BENCH ingest_csv rows_per_s=… baseline_rows_per_s=… ratio=… peak_rss_mb=…``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import readings_setup as b

from billspree.core.scoping import organization_context
from readings.models import DailyConsumption
from readings.parsing import csv_rows
from readings.services import reading_ingest


def run_service(csv_path: Path) -> None:
    with csv_path.open("rb") as stream:
        outcome = reading_ingest(
            rows=csv_rows(stream), source="upload", all_or_nothing=True, keep_results=False
        )
    assert outcome.committed and outcome.error_count == 0, outcome.results[:3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="20,000 readings for 1,000 meters")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows-per-meter", type=int, default=0, help="override readings per meter")
    args = parser.parse_args()
    meter_count, per_meter = (1_000, 20) if args.small else (10_000, 100)
    per_meter = args.rows_per_meter or per_meter
    rows = meter_count * per_meter
    org = b.bench_org()
    with organization_context(org), tempfile.TemporaryDirectory() as folder:
        meters = b.bench_meters(org, meter_count)
        ids = list(meters.values())
        csv_path, copy_path = b.write_files(Path(folder), org.pk, meters, per_meter)
        service, copy = [], []
        rss_before = b.peak_rss_mb()
        for run in range(args.runs):
            b.reset(ids)
            copy.append(b.timed(lambda: b.copy_file(copy_path)))
            b.reset(ids)
            service.append(b.timed(lambda: run_service(csv_path)))
            print(
                f"run {run + 1}: service {rows / service[-1]:,.0f} rows/s, "
                f"COPY {rows / copy[-1]:,.0f} rows/s"
            )
        days = DailyConsumption.objects.filter(meter_id__in=ids).count()
        b.reset(ids)
    peak = b.peak_rss_mb()
    rate, baseline = rows / b.median(service), rows / b.median(copy)
    print(
        f"rows={rows} meters={meter_count} runs={args.runs} rollup days written={days} "
        f"peak RSS {peak:.0f} MB (before the first import {rss_before:.0f} MB)"
    )
    print(
        f"BENCH ingest_csv rows_per_s={rate:.0f} baseline_rows_per_s={baseline:.0f} "
        f"ratio={rate / baseline:.3f} rows={rows} meters={meter_count} "
        f"service_s={b.median(service):.2f} copy_s={b.median(copy):.2f} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
