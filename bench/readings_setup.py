"""Shared set-up of the readings benchmarks (``ingest_csv``, ``ingest_api``, ``consumption``).

Everything is written for a dedicated "Bench" organization whose meters (``BENCH-000000``
…) are created once and reused; readings go to the UTC months around January 2001, whose
partitions are truncated before and after each benchmark (with the bench meters' state
and rollup rows), so the benchmarks never touch real data and can run in any order.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from billspree.core.models import Organization  # noqa: E402
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property  # noqa: E402
from readings.ingest_sql import COPY_COLUMNS  # noqa: E402
from readings.partitions import partition_name, partitions_ensure  # noqa: E402

START = datetime(2001, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
ORG_NAME = "Bench readings (bench/_readings.py)"
#: The months the benchmarks write to (December 2000 to February 2001).
MONTHS = [(2000, 12), (2001, 1), (2001, 2)]


def bench_org() -> Organization:
    found = Organization.objects.filter(name=ORG_NAME).first()
    return found or Organization.objects.create(name=ORG_NAME)


def bench_meters(org: Organization, count: int) -> dict[str, int]:
    """Serial → id of the bench organization's first ``count`` meters (created in bulk once),
    each on its own billing point since a day before ``START`` (property zone UTC)."""
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


def reset(meter_ids: list[int]) -> None:
    """Empty the bench months and the bench meters' state and rollups."""
    partitions_ensure(MONTHS)
    with connection.cursor() as cursor:
        for year, month in MONTHS:
            cursor.execute(f"TRUNCATE {partition_name(year, month)}")  # constant names
        for table in ("meterreadingstate", "dailyconsumption", "monthlyconsumption",
                      "hourlyconsumption"):
            cursor.execute(
                f"DELETE FROM readings_{table} WHERE meter_id = ANY(%s)",  # noqa: S608
                [meter_ids],
            )
        if not connection.in_atomic_block:  # runs back to back leave dead rows behind
            cursor.execute("VACUUM ANALYZE readings_meterreadingstate")


def value_at(step: int, n: int) -> str:
    """The register of the n-th meter at a step: a different steady use per meter."""
    return f"{1000 + step * (1 + n % 7)}.{n % 100:02d}"


def write_files(
    folder: Path,
    org_id: int,
    meters: dict[str, int],
    per_meter: int,
    start: datetime = START,
    step_size: timedelta = STEP,
) -> tuple[Path, Path]:
    """The upload CSV and the baseline's COPY file with the same rows, streamed to disk
    (``total`` equals ``value``: the registers never roll over)."""
    csv_path, copy_path = folder / "readings.csv", folder / "copy.txt"
    created = datetime.now(UTC).isoformat()
    with csv_path.open("w") as csv_file, copy_path.open("w") as copy_file:
        csv_file.write("meterNumber,readAt,value\n")
        for step in range(per_meter):
            at = (start + step * step_size).isoformat()
            for n, (serial, meter_id) in enumerate(meters.items()):
                value = value_at(step, n)
                csv_file.write(f"{serial},{at},{value}\n")
                copy_file.write(
                    f"{org_id}\t{meter_id}\t{at}\t{value}\t{value}\tupload\tactual\t\tf\t{created}\n"
                )
    return csv_path, copy_path


def copy_file(copy_path: Path) -> None:
    """Raw ``COPY`` of a prepared file into the readings table (the ingestion baseline)."""
    with transaction.atomic(), copy_path.open() as stream, connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY readings_reading ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT text, NULL '')", stream
        )


def timed(fn: Callable[[], object]) -> float:
    import time

    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def median(values: list[float]) -> float:
    return statistics.median(values)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
