"""Benchmark: CSV ingestion through the real import path vs raw COPY into the same table.

    .venv/bin/python bench/ingest.py            # 1,000,000 readings for 10,000 meters
    .venv/bin/python bench/ingest.py --small    # 20,000 readings for 1,000 meters

The service path streams a CSV (meterNumber, readAt, value) through ``csv_rows`` and
``reading_ingest`` (parsing, every validation rule, totals, state, COPY), all or nothing,
exactly as an uploaded file is imported. The baseline COPYs the same rows, already
resolved to table columns, into the same partitioned table. Both write into January 2001
of a dedicated "Bench" organization; that partition is truncated between runs. Each is
run several times, alternating, and medians are compared, so the ratio holds on a noisy
machine. The last line is ``BENCH ingest rows_per_s=... baseline_rows_per_s=... ratio=...``;
it also reports ``consumption_s``, the median time of the consumption selector for every
bench meter over the imported period (target: 10,000 meters under 2 s), and
``api_rows_per_s``, ``POST /api/v1/readings/`` with one reading per meter per batch
(10,000-reading batches at full size; target ≥ 10,000 readings/s).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from billspree.core.models import Organization  # noqa: E402
from billspree.core.scoping import organization_context  # noqa: E402
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property  # noqa: E402
from readings.ingest import COPY_COLUMNS  # noqa: E402
from readings.parsing import csv_rows  # noqa: E402
from readings.partitions import partition_name, partitions_ensure  # noqa: E402
from readings.selectors import meter_consumption  # noqa: E402
from readings.services import reading_ingest  # noqa: E402

START = datetime(2001, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
ORG_NAME = "Bench ingest (bench/ingest.py)"


def bench_meters(org: Organization, count: int) -> dict[str, int]:
    """The bench organization's meters, created once (bulk) and reused."""
    existing = dict(
        Meter.objects.filter(serial_number__startswith="BENCH-").values_list("serial_number", "id")
    )
    missing = [f"BENCH-{i:06d}" for i in range(count) if f"BENCH-{i:06d}" not in existing]
    if missing:
        prop, _ = Property.objects.get_or_create(
            name="Bench property", defaults={"time_zone": "UTC"}
        )
        points = BillingPoint.objects.bulk_create(
            [
                BillingPoint(organization=org, property=prop, connection_id=s, name=s)
                for s in missing
            ]
        )
        meters = Meter.objects.bulk_create(
            [
                Meter(
                    organization=org,
                    serial_number=s,
                    type=MeterType.ELECTRICITY,
                    unit="kWh",
                    register_digits=9,
                )
                for s in missing
            ]
        )
        MeterAssignment.objects.bulk_create(
            [
                MeterAssignment(
                    organization=org,
                    meter=m,
                    billing_point=p,
                    connected_at=START - timedelta(days=1),
                )
                for m, p in zip(meters, points, strict=True)
            ]
        )
        existing.update({m.serial_number: m.id for m in meters})
    return {s: existing[s] for s in sorted(existing)[:count]}


def write_files(
    folder: Path, org_id: int, meters: dict[str, int], per_meter: int
) -> tuple[Path, Path]:
    """The upload CSV and the baseline's COPY file, with the same rows, streamed to disk."""
    csv_path, copy_path = folder / "readings.csv", folder / "copy.txt"
    created = datetime.now(UTC).isoformat()
    with csv_path.open("w") as csv_file, copy_path.open("w") as copy_file:
        csv_file.write("meterNumber,readAt,value\n")
        for step in range(per_meter):
            at = (START + step * STEP).isoformat()
            for n, (serial, meter_id) in enumerate(meters.items()):
                value = f"{1000 + step * (1 + n % 7)}.{n % 100:02d}"
                csv_file.write(f"{serial},{at},{value}\n")
                copy_file.write(
                    f"{org_id}\t{meter_id}\t{at}\t{value}\t{value}\tupload\tactual\t\tf\t{created}\n"
                )
    return csv_path, copy_path


def reset(meter_ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {partition_name(2001, 1)}")  # noqa: S608 - constant name
        cursor.execute(
            "DELETE FROM readings_meterreadingstate WHERE meter_id = ANY(%s)", [meter_ids]
        )
        if not connection.in_atomic_block:  # runs back to back leave dead rows behind
            cursor.execute("VACUUM ANALYZE readings_meterreadingstate")


def run_service(csv_path: Path) -> float:
    began = time.perf_counter()
    with csv_path.open("rb") as stream:
        outcome = reading_ingest(
            rows=csv_rows(stream), source="upload", all_or_nothing=True, keep_results=False
        )
    elapsed = time.perf_counter() - began
    assert outcome.committed and outcome.error_count == 0, outcome.results[:3]
    return elapsed


def run_copy(copy_path: Path) -> float:
    began = time.perf_counter()
    with transaction.atomic(), copy_path.open() as stream, connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY readings_reading ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT text, NULL '')", stream
        )
    return time.perf_counter() - began


def time_consumption(meter_ids: list[int], per_meter: int, runs: int) -> float:
    """Median seconds for the consumption of every bench meter over most of the data."""
    start, end = START + STEP / 2, START + (per_meter - 1.5) * STEP
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        result = meter_consumption(meter_ids=meter_ids, start=start, end=end)
        timings.append(time.perf_counter() - began)
        assert not any(c.missing or c.estimated for c in result.values())
    return statistics.median(timings)


def time_api(meters: dict[str, int], per_meter: int, runs: int) -> float:
    """Median readings/s of ``POST /api/v1/readings/`` with 10,000-reading batches (in-process
    HTTP stack: authentication, parsing, the service, the JSON response)."""
    from rest_framework.test import APIClient

    from billspree.core.models import ApiKeyScope
    from billspree.core.services import api_key_create

    _, secret = api_key_create(
        name="bench", scopes=[ApiKeyScope.READ, ApiKeyScope.WRITE], actor=None
    )
    client = APIClient(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Api-Key {secret}")
    serials = list(meters)[:10_000]
    rates = []
    for run in range(runs):
        at = (START + (per_meter + run) * STEP).isoformat()
        body = [{"meterNumber": s, "readAt": at, "value": f"{5000 + run}.5"} for s in serials]
        began = time.perf_counter()
        response = client.post("/api/v1/readings/", body, format="json")
        rates.append(len(body) / (time.perf_counter() - began))
        assert response.status_code == 200, response.content[:500]
        assert response.json()["counts"]["created"] == len(body), response.json()["counts"]
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="20,000 readings for 1,000 meters")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows-per-meter", type=int, default=0, help="override readings per meter")
    args = parser.parse_args()
    meter_count, per_meter = (1_000, 20) if args.small else (10_000, 100)
    if args.rows_per_meter:
        per_meter = args.rows_per_meter
    rows = meter_count * per_meter
    org = Organization.objects.filter(name=ORG_NAME).first() or Organization.objects.create(
        name=ORG_NAME
    )
    with organization_context(org), tempfile.TemporaryDirectory() as folder:
        meters = bench_meters(org, meter_count)
        partitions_ensure([(2001, 1)])
        csv_path, copy_path = write_files(Path(folder), org.pk, meters, per_meter)
        ids = list(meters.values())
        service, copy = [], []
        for run in range(args.runs):
            reset(ids)
            copy.append(run_copy(copy_path))
            reset(ids)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            service.append(run_service(csv_path))
            print(
                f"run {run + 1}: service {rows / service[-1]:,.0f} rows/s, "
                f"COPY {rows / copy[-1]:,.0f} rows/s"
            )
        consumption_s = time_consumption(ids, per_meter, args.runs)
        api_rate = time_api(meters, per_meter, args.runs)
        reset(ids)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate, baseline = rows / statistics.median(service), rows / statistics.median(copy)
    print(
        f"rows={rows} meters={meter_count} runs={args.runs} peak RSS {peak_mb:.0f} MB "
        f"(before the first import {rss_before / 1024:.0f} MB)"
    )
    print(
        f"BENCH ingest rows_per_s={rate:.0f} baseline_rows_per_s={baseline:.0f} "
        f"ratio={rate / baseline:.3f} rows={rows} peak_rss_mb={peak_mb:.0f} "
        f"consumption_s={consumption_s:.3f} consumption_meters={meter_count} "
        f"api_rows_per_s={api_rate:.0f}"
    )


if __name__ == "__main__":
    main()
