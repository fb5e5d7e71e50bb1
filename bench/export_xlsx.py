"""Benchmark: a 100,000-row report table written as XLSX (xlsxwriter, constant-memory mode)
against the same rows written as CSV, in the same run, each in its own forked process so
each one's peak RSS is its own.

The rows are what a report page hands an export: a text key, an aware instant (written as
a local Excel date-time), a Decimal quantity, a percent and a unit, produced by a
generator (never a list), as ``monitoring.tables`` allows. The ratio says what typed
cells, shared strings and zipping cost over plain text; ``rss_mb`` is the XLSX process's
peak RSS, which stays flat with the row count in constant-memory mode (try ``--rows``).

    .venv/bin/python bench/export_xlsx.py            # 100,000 rows
    .venv/bin/python bench/export_xlsx.py --small    # 10,000 rows
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")


def table(rows: int):
    from monitoring.tables import DATETIME, NUMBER, PERCENT, TEXT, Column, Table

    start = datetime(2026, 1, 1, tzinfo=UTC)

    def gen():
        for n in range(rows):
            yield (f"Meter {n % 500:03d}", start + timedelta(hours=n // 500),
                   Decimal(n % 977) / Decimal(8), Decimal(n % 400) / Decimal(4), "kWh")

    return Table(name="bench", title="Bench export", zone=ZoneInfo("Europe/Zurich"),
                 columns=[Column("meter", "Meter", TEXT), Column("hour", "Hour", DATETIME),
                          Column("quantity", "Quantity", NUMBER, "kWh", digits=3),
                          Column("share", "Share", PERCENT, digits=2),
                          Column("unit", "Unit", TEXT)],
                 rows=gen())


def run_in_child(fmt: str, rows: int, path: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of writing ``rows`` as ``fmt`` in a forked process."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child writes the file and reports its time
        os.close(read)
        from monitoring.exports.csv import write_csv
        from monitoring.exports.xlsx import write_xlsx

        t0 = time.perf_counter()
        if fmt == "xlsx":
            write_xlsx([table(rows)], path)
        else:
            with path.open("wb") as out:
                write_csv([table(rows)], out)
        os.write(write, f"{time.perf_counter() - t0}".encode())
        os._exit(0)
    os.close(write)
    seconds = float(os.read(read, 64).decode())
    os.close(read)
    _, status, usage = os.wait4(pid, 0)
    assert status == 0, f"{fmt} writer failed"
    return seconds, usage.ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="10,000 rows")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    rows = args.rows or (10_000 if args.small else 100_000)
    import django

    django.setup()
    import monitoring.exports.csv  # noqa: F401 - imported before forking, like a worker
    import monitoring.exports.xlsx  # noqa: F401

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as folder:
        csv_s, csv_rss = run_in_child("csv", rows, Path(folder) / "bench.csv")
        xlsx_s, xlsx_rss = run_in_child("xlsx", rows, Path(folder) / "bench.xlsx")
        sizes = {p.suffix: p.stat().st_size for p in Path(folder).iterdir()}
    print(f"rows={rows} csv: {csv_s:.2f} s, {sizes['.csv'] / 1e6:.1f} MB, peak RSS "
          f"{csv_rss:.0f} MB; xlsx: {xlsx_s:.2f} s, {sizes['.xlsx'] / 1e6:.1f} MB, peak RSS "
          f"{xlsx_rss:.0f} MB (parent after django.setup: {base_rss:.0f} MB)")
    print(f"BENCH export_xlsx rows={rows} xlsx_s={xlsx_s:.2f} csv_s={csv_s:.2f} "
          f"ratio={xlsx_s / csv_s:.2f} rss_mb={xlsx_rss:.0f}")


if __name__ == "__main__":
    main()
