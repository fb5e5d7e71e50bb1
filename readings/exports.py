"""Raw readings as CSV, for integrators and auditors: every stored register value of the
chosen meters in a period, exactly as stored, streamed.

Why a server-side cursor of lines formatted by PostgreSQL: an export may hold millions of
rows (10,000 meters every 15 minutes is ~1 M rows a day). The query returns each CSV line
as one text value (the ISO instant, the numeric as text, quoting where a field needs it),
:func:`stream_lines` ``FETCH``es 5,000 of them at a time from a ``DECLARE``d cursor and
hands each batch to the HTTP response as one chunk, so the process never holds more than
one batch whatever the size (``bench/reports.py`` measures 1 M rows: ``export_s``,
``export_rss_mb``), and builds no model instance, no ``Decimal``, no ``datetime`` per
row. (``COPY … TO STDOUT`` would be the other way, but psycopg2's ``copy_expert`` pushes
the whole output into a file object before returning: it cannot be streamed.)

What a row says (columns in :data:`READING_COLUMNS`):

* ``read_at`` is ISO 8601 in the meter's property's time zone, with its offset
  (``2026-03-29T03:00:00+02:00``), so a DST day reads as people lived it and the
  instant stays exact. A meter's zone is its latest assignment's property's (as
  ingestion and the readings API resolve it), the organization's for a meter never
  assigned.
* ``value`` is the register value as stored (``numeric(20,4)``: four decimals, never
  through a float); ``unit`` the meter's.
* ``source`` and ``quality`` as stored; ``estimated`` is ``true`` when the value is an
  estimate (quality *estimated* or source *estimate*); ``anomaly`` when it was flagged
  as an implausible jump.

Rows come meter by meter (by meter number), then by time. Every query is filtered by the
organization of the scoping context (fails closed without one); the meters are resolved
while the request's context is active, the stream then needs nothing but their ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.db import connection, transaction

from billspree.core.scoping import require_organization
from meters.models import Meter, MeterAssignment

#: The CSV header of a readings export.
READING_COLUMNS = ("meter", "meter_id", "unit", "read_at", "value", "source", "quality",
                   "estimated", "anomaly")
#: How many rows one chunk of the response (one ``FETCH``) holds: ~0.5 MB of CSV.
FETCH_ROWS = 5000


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of an export period: an instant (``local=False``, aware), or a wall-clock
    time (``local=True``, naive) read in each device's own zone (a plain date in a query
    is local midnight where the meter is)."""

    at: datetime
    local: bool


def iso_local(column: str, zone: str) -> str:
    """SQL: the instant in ``column`` as ISO 8601 in time zone ``zone`` (an SQL expression),
    as Python's ``datetime.isoformat()`` writes it: seconds always, microseconds only when
    there are some, the offset as ``±HH:MM``. Built from ``timestamp::text`` and
    ``interval::text`` (ISO ``DateStyle``, ``postgres`` ``IntervalStyle``: set by
    :func:`stream_lines`), which cost a third of ``to_char`` per row."""
    local = f"({column} AT TIME ZONE {zone})"
    offset = f"({local} - ({column} AT TIME ZONE 'UTC'))"
    return (
        f"CASE WHEN date_part('microseconds', {column})::bigint %% 1000000 = 0"
        f" THEN replace({local}::text, ' ', 'T')"
        f" ELSE to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') END"
        f" || CASE WHEN {offset} >= interval '0' THEN '+' || left({offset}::text, 5)"
        f" ELSE left({offset}::text, 6) END"
    )


def bound_sql(bound: Bound | None, name: str, zone: str, column: str, op: str) -> str:
    """SQL: ``column op <bound>``, the bound local to ``zone`` when it is a wall-clock time."""
    if bound is None:
        return "true"
    value = f"(%({name})s::timestamp AT TIME ZONE {zone})" if bound.local \
        else f"%({name})s::timestamptz"
    return f"{column} {op} {value}"


def bound_params(start: Bound | None, end: Bound | None) -> dict:
    return {"start": start.at if start else None, "end": end.at if end else None}


#: Meter by meter (a nested loop over the chosen meters, in order), each meter's readings
#: by its primary key's index in time order: no sort of the whole export.
_READINGS_SQL = """
SELECT z.prefix || {read_at} || ',' || r.value::text || ',' || r.source || ',' || r.quality
       || CASE WHEN r.quality = 'estimated' OR r.source = 'estimate' THEN ',true'
               ELSE ',false' END
       || CASE WHEN r.is_anomaly THEN ',true' ELSE ',false' END
FROM (SELECT z.n, z.meter_id, z.tz, {serial} || ',' || m.public_id::text || ',' || {unit}
             || ',' AS prefix
      FROM unnest(%(ids)s::bigint[], %(zones)s::text[]) WITH ORDINALITY AS z(meter_id, tz, n)
      JOIN meters_meter m ON m.id = z.meter_id AND m.organization_id = %(org)s
      ORDER BY z.n OFFSET 0) z
CROSS JOIN LATERAL (
    SELECT r.read_at, r.value, r.source, r.quality, r.is_anomaly FROM readings_reading r
    WHERE r.meter_id = z.meter_id AND r.organization_id = %(org)s AND {start} AND {end}
    ORDER BY r.read_at) r
ORDER BY z.n, r.read_at
"""


def export_meters(*, meters: Iterable[Meter] | None = None, property_id: int | None = None
                  ) -> list[Meter]:
    """The meters an export covers: those given, else those ever assigned at the property,
    else every meter of the organization; by meter number."""
    require_organization()
    if meters is not None:
        return sorted(set(meters), key=lambda m: m.serial_number)
    qs = Meter.objects.all()
    if property_id is not None:
        qs = qs.filter(id__in=MeterAssignment.objects.filter(
            billing_point__property_id=property_id).values("meter_id"))
    return list(qs.order_by("serial_number"))


def readings_csv(*, meters: Iterable[Meter] | None = None, property_id: int | None = None,
                 start: Bound | None = None, end: Bound | None = None) -> Iterator[bytes]:
    """The readings of the meters (see :func:`export_meters`) in [start, end) as CSV chunks
    (UTF-8, header first). Resolves meters and zones now, in the caller's organization;
    the returned iterator runs the ``COPY`` when it is consumed."""
    from readings.rollups import meter_zones

    org = require_organization()
    chosen = export_meters(meters=meters, property_id=property_id)
    zones = meter_zones([m.id for m in chosen], _zone(org.time_zone))
    default = str(org.time_zone)
    sql = _READINGS_SQL.format(
        read_at=iso_local("r.read_at", "z.tz"), serial=csv_text("m.serial_number"),
        unit=csv_text("m.unit"),
        start=bound_sql(start, "start", "z.tz", "r.read_at", ">="),
        end=bound_sql(end, "end", "z.tz", "r.read_at", "<"),
    )
    params = {"org": org.pk, "ids": [m.id for m in chosen],
              "zones": [str(zones.get(m.id, default)) for m in chosen],
              **bound_params(start, end)}
    return stream_lines(sql, params, READING_COLUMNS)


#: :data:`billspree.core.csv_export.FORMULA_START` and its plain-number exception as
#: PostgreSQL regular expressions: the same rule, applied where the line is formatted.
_FORMULA_START_RE = r"^[-=+@\t\r]"
_PLAIN_NUMBER_RE = r"^[-+]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][-+]?[0-9]+)?$"


def csv_text(expr: str) -> str:
    """SQL: a text value as a CSV field, formula-safe as
    :func:`billspree.core.csv_export.safe_cell` (a leading ``'`` before text a spreadsheet
    would evaluate, e.g. a meter number ``=HYPERLINK(…)``), then quoted with quotes doubled
    only when it needs it."""
    safe = (f"(CASE WHEN {expr} ~ '{_FORMULA_START_RE}' AND {expr} !~ '{_PLAIN_NUMBER_RE}' "
            f"THEN '''' || {expr} ELSE {expr} END)")
    return (f"CASE WHEN {safe} ~ '[\",\\r\\n]' THEN '\"' || replace({safe}, '\"', '\"\"') "
            f"|| '\"' ELSE {safe} END")


def stream_lines(sql: str, params: dict, header: Iterable[str],
                 batch: int | None = None) -> Iterator[bytes]:
    """The header, then the one-column rows of ``sql`` (each a CSV line formatted by
    PostgreSQL) as chunks of ``batch`` lines, read through a server-side cursor
    (``DECLARE … NO SCROLL CURSOR``, ``FETCH``) in a transaction without JIT (compiling the
    formatting of a million rows costs more than it saves). At most one batch is ever in
    this process. Stopping early (a client that goes away) closes the cursor and rolls the
    transaction (or savepoint) back."""
    batch = int(batch or FETCH_ROWS)
    yield (",".join(header) + "\r\n").encode()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off; SET LOCAL DateStyle = 'ISO'; "
                       "SET LOCAL IntervalStyle = 'postgres'")
        cursor.execute(f"DECLARE export_rows NO SCROLL CURSOR FOR {sql}", params)
        while True:
            cursor.execute(f"FETCH {batch} FROM export_rows")
            rows = cursor.fetchall()
            if not rows:
                break
            yield ("\r\n".join([r[0] for r in rows]) + "\r\n").encode()
        cursor.execute("CLOSE export_rows")


def _zone(name) -> tzinfo:
    from zoneinfo import ZoneInfo

    return name if hasattr(name, "utcoffset") else ZoneInfo(str(name))
