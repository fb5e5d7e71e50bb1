"""Retention of raw measurements: after ``MEASUREMENT_RAW_DAYS`` they are downsampled into
15-minute min / avg / max rows (``MeasurementAggregate``) and dropped.

One transaction, set-based, for every organization at once (an ops task, like the
partitions): one ``INSERT … SELECT … GROUP BY date_bin(…)`` writes the buckets of every
raw row older than the cutoff, then the partitions wholly before the cutoff are dropped
and the rest of those rows deleted. Buckets are absolute UTC intervals ``[t, t + 15
min)`` from ``date_bin``'s origin 2000-01-01 00:00 UTC; a DST change never makes a
bucket longer or shorter, it only changes which local clock time a bucket is shown at.

Idempotent: a second run with the same cutoff finds no raw row before it and changes
nothing. Raw rows that arrive later for an instant already downsampled (a late upload)
are merged into their bucket on the next run: the count adds up, min and max compare,
the average is weighted by the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from readings.measurements import partitions

_DOWNSAMPLE_SQL = """
INSERT INTO readings_measurementaggregate AS a
    (organization_id, series_id, bucket_start, samples, min_value, min_at, avg_value,
     max_value, max_at)
SELECT organization_id, series_id,
       date_bin('15 minutes', measured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
       count(*), min(value), (array_agg(measured_at ORDER BY value, measured_at))[1],
       avg(value), max(value), (array_agg(measured_at ORDER BY value DESC, measured_at))[1]
FROM readings_measurement
WHERE measured_at < %(cutoff)s
GROUP BY organization_id, series_id, bucket
ON CONFLICT (series_id, bucket_start) DO UPDATE SET
    samples = a.samples + EXCLUDED.samples,
    min_at = CASE WHEN EXCLUDED.min_value < a.min_value THEN EXCLUDED.min_at ELSE a.min_at END,
    min_value = LEAST(a.min_value, EXCLUDED.min_value),
    max_at = CASE WHEN EXCLUDED.max_value > a.max_value THEN EXCLUDED.max_at ELSE a.max_at END,
    max_value = GREATEST(a.max_value, EXCLUDED.max_value),
    avg_value = (a.avg_value * a.samples + EXCLUDED.avg_value * EXCLUDED.samples)
                / (a.samples + EXCLUDED.samples)
"""


@dataclass(frozen=True)
class DownsampleResult:
    cutoff: datetime
    buckets: int  # aggregate rows written or merged
    deleted: int  # raw rows deleted (besides whole partitions dropped)
    dropped: list[str]  # raw partitions dropped


def retention_cutoff(now: datetime, raw_days: int) -> datetime:
    """Midnight UTC ``raw_days`` days before ``now`` (a bucket boundary, so no bucket is
    ever split between raw and downsampled rows)."""
    day = (now.astimezone(UTC) - timedelta(days=raw_days)).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def measurements_downsample(*, now: datetime, raw_days: int | None = None) -> DownsampleResult:
    """Downsample and drop every raw measurement older than the retention (all
    organizations; see the module doc)."""
    cutoff = retention_cutoff(now, raw_days or settings.MEASUREMENT_RAW_DAYS)
    old_months = {m for m in partitions.existing(partitions.RAW)
                  if partitions.bounds(*m)[0] < cutoff}
    partitions.ensure(partitions.AGGREGATE, old_months)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [partitions.LOCK_ID + 1])
        cursor.execute(_DOWNSAMPLE_SQL, {"cutoff": cutoff})
        buckets = cursor.rowcount
        # the exclusive locks of dropping come last: held only until the commit
        dropped = partitions.drop_before(partitions.RAW, cutoff)
        cursor.execute("DELETE FROM readings_measurement WHERE measured_at < %s", [cutoff])
        deleted = cursor.rowcount
    return DownsampleResult(cutoff, buckets, deleted, dropped)

