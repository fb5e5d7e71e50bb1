"""Monthly partitions of ``readings_reading``: named ``readings_reading_pYYYYMM``, UTC months.

There is deliberately **no default partition**. A row outside every partition makes the
INSERT fail loudly, and every writer (the ingestion service, the benchmark, the demo)
calls :func:`partitions_ensure` for the instants it is about to write. A default
partition would instead collect such rows silently, and PostgreSQL then refuses to create
the month's partition (or must scan and move the default's rows under an exclusive lock).

Partitions are created ahead by the daily ``readings.tasks.partitions_ahead`` task and
on demand by ingestion (historic backfills, clock errors a few months ahead).
Creating one takes a lock on the parent table for the rest of the transaction, so the
ingestion service creates missing partitions in a short transaction of their own when it
is not already inside one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from billspree.core.limits import date_in_range

PARENT = "readings_reading"
#: Arbitrary constant for the advisory lock that serialises partition creation.
LOCK_ID = 0x52454144


def month_of(instant: datetime) -> tuple[int, int]:
    utc = instant.astimezone(UTC)
    return utc.year, utc.month


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def partition_name(year: int, month: int) -> str:
    return f"{PARENT}_p{year:04d}{month:02d}"


def existing_partitions() -> set[tuple[int, int]]:
    """(year, month) of every attached partition, read from the catalog."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s
            """,
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    prefix = f"{PARENT}_p"
    return {
        (int(n[len(prefix) :][:4]), int(n[len(prefix) :][4:6]))
        for n in names
        if n.startswith(prefix)
    }


def _create(year: int, month: int) -> None:
    lower = datetime(year, month, 1, tzinfo=UTC)
    upper = datetime(*_next_month(year, month), 1, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {partition_name(year, month)} "  # noqa: S608 - name from ints
            f"PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)",
            [lower, upper],
        )


def partitions_ensure(months: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Make sure a partition exists for each (year, month); returns the ones created.

    Safe to call concurrently (an advisory lock serialises creators, and each re-reads the
    catalog under it) and cheap when nothing is missing: one catalog query. There is no
    per-process cache on purpose: a partition created in a transaction that is later
    rolled back would stay in such a cache and the next COPY would fail.
    """
    wanted = set(months)
    if not wanted:
        return []
    with transaction.atomic():
        present = existing_partitions()
        missing = sorted(wanted - present)
        if missing:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_ID])
            present = existing_partitions()
            missing = sorted(wanted - present)
            for year, month in missing:
                _create(year, month)
    return missing


def partitions_ensure_for(instants: Iterable[datetime]) -> list[tuple[int, int]]:
    return partitions_ensure({month_of(t) for t in instants})


def partitions_ahead(*, now: datetime, months_ahead: int = 3) -> list[tuple[int, int]]:
    """This month and the next ``months_ahead`` months (the daily scheduled task)."""
    months, ym = [], month_of(now)
    for _ in range(months_ahead + 1):
        months.append(ym)
        ym = _next_month(*ym)
    return partitions_ensure(months)


def months_guess(values: Iterable[Any]) -> set[tuple[int, int]]:
    """Months a delivery (an API batch, a CSV file) will write to, for creating partitions
    before its transaction.

    A naive or date-only instant may be local to any zone, so the neighbouring months are
    included; anything unparseable is left to validation.
    """
    months = set()
    latest = datetime.now(UTC) + timedelta(days=1)  # future instants are rejected anyway
    for raw in values:
        try:
            t = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).strip())
        except ValueError:
            continue
        t = t if t.tzinfo else t.replace(tzinfo=UTC)
        if date_in_range(t) and t <= latest:  # year 1 or 9999: a row error, no partition
            months.update({month_of(t - timedelta(days=1)), month_of(t + timedelta(days=1))})
    return months


#: Creating partitions ahead is an optimisation for normal deliveries; a batch that spans
#: more months than this gets its partitions on demand, for validated rows only (so a
#: hostile batch of made-up dates cannot create thousands of tables).
PRECREATE_MONTHS = 36


def partitions_precreate(months: set[tuple[int, int]]) -> None:
    """Create these months' partitions in short transactions of their own, ahead of a long
    import; nothing inside a transaction (the lock would last until its end) or for more
    than ``PRECREATE_MONTHS`` months (ingestion creates them on demand then)."""
    if not connection.in_atomic_block and len(months) <= PRECREATE_MONTHS:
        partitions_ensure(months)
