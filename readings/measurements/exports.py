"""Raw measurements as CSV (integrators and auditors): every stored value of the chosen
series in a period, streamed like the readings export (``readings.exports``: one
server-side cursor, rows formatted by PostgreSQL, a chunk at a time).

Columns (:data:`MEASUREMENT_COLUMNS`): ``device_kind`` (``meter``/``sensor``), ``device``
(its number), ``device_id`` (its public id), ``quantity``, ``unit`` (the quantity's stored
unit), ``measured_at`` (ISO 8601 in the device's property's time zone, with offset; a
meter's property is its latest assignment's, a sensor's its own), ``value`` (the stored
double, in PostgreSQL's shortest exact form: ``1500``, ``230.1``), ``source``.

Raw rows only: values already downsampled into 15-minute aggregates by the retention are
not raw data any more and are not in this export. Series come by device number and
quantity, each series' values by time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from billspree.core.csv_export import safe_cell
from billspree.core.scoping import require_organization
from meters.models import Meter, MeterAssignment, Sensor
from readings.exports import Bound, bound_params, bound_sql, iso_local, stream_lines
from readings.measurements.models import MeasurementSeries

MEASUREMENT_COLUMNS = ("device_kind", "device", "device_id", "quantity", "unit", "measured_at",
                       "value", "source")

_MEASUREMENTS_SQL = """
SELECT z.prefix || {measured_at} || ',' || x.value::text || ',' || x.source
FROM (SELECT n, series_id, tz, prefix FROM unnest(%(ids)s::bigint[], %(zones)s::text[],
             %(prefixes)s::text[]) WITH ORDINALITY AS z(series_id, tz, prefix, n)
      ORDER BY n OFFSET 0) z
CROSS JOIN LATERAL (
    SELECT x.measured_at, x.value, x.source FROM readings_measurement x
    WHERE x.series_id = z.series_id AND x.organization_id = %(org)s AND {start} AND {end}
    ORDER BY x.measured_at) x
ORDER BY z.n, x.measured_at
"""


def export_series(*, meters: Iterable[Meter] | None = None,
                  sensors: Iterable[Sensor] | None = None, property_id: int | None = None,
                  quantity: str | None = None) -> list[MeasurementSeries]:
    """The series an export covers: of the devices named, else of the property's sensors
    and the meters ever assigned there, else every series; one quantity or all."""
    require_organization()
    qs = MeasurementSeries.objects.select_related("meter", "sensor__property")
    if meters is not None or sensors is not None:
        qs = qs.filter(meter__in=list(meters or [])) | qs.filter(sensor__in=list(sensors or []))
    elif property_id is not None:
        at_property = MeterAssignment.objects.filter(
            billing_point__property_id=property_id).values("meter_id")
        qs = qs.filter(meter_id__in=at_property) | qs.filter(sensor__property_id=property_id)
    if quantity:
        qs = qs.filter(quantity=quantity)
    return sorted(qs, key=lambda s: (_device(s).serial_number, s.quantity, s.pk))


def measurements_csv(*, meters: Iterable[Meter] | None = None,
                     sensors: Iterable[Sensor] | None = None, property_id: int | None = None,
                     quantity: str | None = None, start: Bound | None = None,
                     end: Bound | None = None) -> Iterator[bytes]:
    """The raw measurements of the series (see :func:`export_series`) in [start, end) as
    CSV chunks, header first. Resolves series and zones now; streams when consumed."""
    from readings.rollups import meter_zones

    org = require_organization()
    series = export_series(meters=meters, sensors=sensors, property_id=property_id,
                           quantity=quantity)
    zones = meter_zones({s.meter_id for s in series if s.meter_id}, org.time_zone)
    sql = _MEASUREMENTS_SQL.format(
        measured_at=iso_local("x.measured_at", "z.tz"),
        start=bound_sql(start, "start", "z.tz", "x.measured_at", ">="),
        end=bound_sql(end, "end", "z.tz", "x.measured_at", "<"),
    )
    params = {"org": org.pk, "ids": [s.pk for s in series],
              "zones": [_zone_of(s, zones, org) for s in series],
              "prefixes": [_prefix(s) for s in series], **bound_params(start, end)}
    return stream_lines(sql, params, MEASUREMENT_COLUMNS)


def _device(series: MeasurementSeries):
    return series.meter if series.meter_id else series.sensor


def _zone_of(series: MeasurementSeries, zones: dict, org) -> str:
    if series.sensor_id:
        return str(series.sensor.property.time_zone)
    return str(zones.get(series.meter_id, org.time_zone))


def _prefix(series: MeasurementSeries) -> str:
    """The series' first five columns and the comma before ``measured_at`` (CSV-quoted in
    Python here: once per series, not per row)."""
    device = _device(series)
    kind = "meter" if series.meter_id else "sensor"
    return ",".join([kind, _quote(device.serial_number), str(device.public_id),
                     series.quantity, _quote(series.unit), ""])


def _quote(text: str) -> str:
    """CSV-quoted and formula-safe (:func:`billspree.core.csv_export.safe_cell`: a number
    like ``=HYPERLINK(…)`` is shown, not evaluated, by the spreadsheet that opens it)."""
    text = safe_cell(text)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text

