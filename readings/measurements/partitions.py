"""Monthly partitions of the measurement tables (UTC months), as ``readings.partitions``
does for readings: named ``<table>_pYYYYMM``, no default partition (a row outside every
partition fails loudly), created ahead by a daily task and on demand by ingestion, under
an advisory lock; dropped whole by the retention once every row in them is downsampled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import connection, transaction

from readings.partitions import month_of

RAW = "readings_measurement"
AGGREGATE = "readings_measurementaggregate"
TABLES = (RAW, AGGREGATE)
#: Another constant than readings' (which is 0x52454144), so the two never wait on each other.
LOCK_ID = 0x4D454153


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def partition_name(parent: str, year: int, month: int) -> str:
    return f"{parent}_p{year:04d}{month:02d}"


def existing(parent: str) -> set[tuple[int, int]]:
    """(year, month) of every attached partition of ``parent``, from the catalog."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s
            """,
            [parent],
        )
        names = [row[0] for row in cursor.fetchall()]
    prefix = f"{parent}_p"
    return {(int(n[len(prefix):][:4]), int(n[len(prefix):][4:6]))
            for n in names if n.startswith(prefix)}


def bounds(year: int, month: int) -> tuple[datetime, datetime]:
    return datetime(year, month, 1, tzinfo=UTC), datetime(*_next_month(year, month), 1, tzinfo=UTC)


def ensure(parent: str, months: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Make sure ``parent`` has a partition for each (year, month); returns those created.
    One catalog query when nothing is missing; safe concurrently (advisory lock, re-read)."""
    if parent not in TABLES:
        raise ValueError(f"Not a measurement table: {parent}")
    wanted = set(months)
    if not wanted or not (wanted - existing(parent)):
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
        missing = sorted(wanted - existing(parent))
        for year, month in missing:
            lower, upper = bounds(year, month)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {partition_name(parent, year, month)} "  # noqa: S608 - names from a constant and ints
                f"PARTITION OF {parent} FOR VALUES FROM (%s) TO (%s)",
                [lower, upper],
            )
    return missing


def ensure_for(parent: str, instants: Iterable[datetime]) -> list[tuple[int, int]]:
    return ensure(parent, {month_of(t) for t in instants})


def ahead(*, now: datetime, months_ahead: int = 3) -> list[str]:
    """This month and the next ``months_ahead`` of both tables (the daily task)."""
    months, ym = [], month_of(now)
    for _ in range(months_ahead + 1):
        months.append(ym)
        ym = _next_month(*ym)
    return [partition_name(t, *m) for t in TABLES for m in ensure(t, months)]


def drop_before(parent: str, cutoff: datetime) -> list[str]:
    """Drop the partitions of ``parent`` that end at or before ``cutoff`` (the retention,
    after it has downsampled their rows): a whole month goes without a row-by-row DELETE."""
    if parent not in TABLES:
        raise ValueError(f"Not a measurement table: {parent}")
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
        for year, month in sorted(existing(parent)):
            if bounds(year, month)[1] <= cutoff:
                name = partition_name(parent, year, month)
                cursor.execute(f"DROP TABLE IF EXISTS {name}")  # noqa: S608 - name from ints
                dropped.append(name)
    return dropped
