"""The one write path of measurements: API batches, CSV files and gateway polls.

Set-based like reading ingestion: per batch, one query resolves the devices named (meters
and sensors, by serial number), one ``INSERT … ON CONFLICT DO NOTHING`` creates the
series not seen before, one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``
writes the values, and only the rows that were already stored are read back (a replay:
same value, nothing changes; another value: refused unless ``replace``, then one UPDATE).

Deliveries from people and integrators (:func:`measurement_ingest`) are **all or
nothing**: every bad row is reported with its line (CSV) or index (API), the field and
why, and nothing is stored. Gateway polls (:func:`measurements_store`) write values the
poller already decoded, by series id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billspree.core.scoping import require_organization
from meters.models import Meter, Sensor
from readings.measurements import partitions
from readings.measurements.models import (
    CONVERSIONS,
    RANGES,
    SENSOR_QUANTITIES,
    UNITS,
    Source,
)
from readings.parsing import parse_instant, parse_local_instant

#: How far ahead of the server's clock an instant may be (clocks of devices drift).
FUTURE_TOLERANCE = timedelta(minutes=5)
BATCH_LIMIT = 10_000


@dataclass(slots=True)
class MeasurementIn:
    """One measurement as received; ``line`` is what errors cite (CSV line, API index)."""

    line: int
    meter_number: Any = None
    sensor_number: Any = None
    quantity: Any = None
    measured_at: Any = None
    value: Any = None
    unit: Any = None


@dataclass(slots=True)
class MeasurementResult:
    line: int
    device: str
    quantity: str
    measured_at: datetime | None = None
    value: float | None = None
    status: str = "pending"  # then created, unchanged, replaced, rejected, not_imported
    errors: list[tuple[str, str]] = field(default_factory=list)
    key: tuple[str, str] | None = None  # (kind, serial) of the device
    device_id: int | None = None
    series_id: int | None = None

    def reject(self, field_name: str, message: str) -> None:
        self.status = "rejected"
        self.errors.append((field_name, message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "device": self.device,
            "quantity": self.quantity,
            "measuredAt": self.measured_at.isoformat() if self.measured_at else None,
            "value": self.value,
            "status": self.status,
            "errors": [{"field": f, "message": m} for f, m in self.errors],
        }


@dataclass
class MeasurementOutcome:
    results: list[MeasurementResult]
    committed: bool

    @property
    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "unchanged": 0, "replaced": 0, "rejected": 0, "not_imported": 0}
        for r in self.results:
            counts[r.status] += 1
        return counts

    @property
    def rejected(self) -> list[MeasurementResult]:
        return [r for r in self.results if r.status == "rejected"]


class _Rejected(Exception):
    """Raised inside the batch's transaction to roll it back (a row was refused)."""


# --- parsing a row ---------------------------------------------------------------------------


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw).strip()


def parse_number(raw: Any) -> tuple[float | None, str | None]:
    """A finite number: a JSON number, or text with a decimal point or comma ("21,5")."""
    if isinstance(raw, bool) or raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, "A value is required."
    if isinstance(raw, int | float):
        try:
            number = float(raw)
        except OverflowError:
            return None, "The number is too large."
    else:
        text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
        if "," in text and "." not in text and text.count(",") == 1:
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return None, f"Not a number: {str(raw)[:40]!r}."
    if not math.isfinite(number):
        return None, "Not a finite number (NaN or infinity)."
    return number, None


def _convert(result: MeasurementResult, quantity: str, unit: Any, number: float) -> float | None:
    """The value in the quantity's stored unit, or None (the row is refused)."""
    stored = UNITS[quantity]
    given = _text(unit)
    if given and given != stored:
        factor = CONVERSIONS.get((stored, given))
        if factor is None:
            accepted = [stored or "(none)"] + [g for s, g in CONVERSIONS if s == stored]
            result.reject("unit", f"{quantity} is stored in {stored or 'no unit'}; "
                                  f"accepted units: {', '.join(accepted)}.")
            return None
        number *= factor
    low, high = RANGES[stored]
    if not low <= number <= high:
        result.reject("value", f"{number:g} {stored} is outside the plausible range of "
                               f"{quantity} ({low:g} to {high:g} {stored}).".replace("  ", " "))
        return None
    return number


def _device_key(row: MeasurementIn, result: MeasurementResult) -> tuple[str, str] | None:
    meter, sensor = _text(row.meter_number), _text(row.sensor_number)
    if bool(meter) == bool(sensor):
        result.reject("meterNumber", "Give either meterNumber (a meter) or sensorNumber (an "
                                     "environmental sensor), not both and not neither.")
        return None
    return ("meter", meter) if meter else ("sensor", sensor)


def _check_quantity(row: MeasurementIn, kind: str | None, result: MeasurementResult) -> str | None:
    quantity = _text(row.quantity)
    if quantity not in UNITS:
        result.reject("quantity", f"Unknown quantity {quantity[:40]!r}; one of "
                                  f"{', '.join(UNITS)}.")
        return None
    if kind == "sensor" and quantity not in SENSOR_QUANTITIES:
        result.reject("quantity", f"A sensor measures {' or '.join(sorted(SENSOR_QUANTITIES))}, "
                                  f"not {quantity}; electrical quantities belong to a meter.")
        return None
    if kind == "meter" and quantity in SENSOR_QUANTITIES:
        result.reject("quantity", f"{quantity} is measured by an environmental sensor "
                                  "(sensorNumber), not a meter.")
        return None
    return quantity


# --- resolving devices and series ------------------------------------------------------------


def _devices(
    keys: set[tuple[str, str]], default_tz: tzinfo
) -> dict[tuple[str, str], tuple[int, tzinfo]]:
    """(kind, serial) → (device id, its property's time zone), two queries."""
    from readings.rollups import meter_zones

    found: dict[tuple[str, str], tuple[int, tzinfo]] = {}
    meters = dict(Meter.objects.filter(
        serial_number__in=[s for k, s in keys if k == "meter"]).values_list("serial_number", "id"))
    zones = meter_zones(meters.values(), default_tz)
    for serial, pk in meters.items():
        found[("meter", serial)] = (pk, zones.get(pk, default_tz))
    sensors = Sensor.objects.filter(serial_number__in=[s for k, s in keys if k == "sensor"])
    for serial, pk, zone in sensors.values_list("serial_number", "id", "property__time_zone"):
        found[("sensor", serial)] = (pk, _zone(zone) if zone else default_tz)
    return found


def _zone(name: Any) -> tzinfo:
    from zoneinfo import ZoneInfo

    return name if hasattr(name, "utcoffset") else ZoneInfo(str(name))


_SERIES_SQL = """
INSERT INTO readings_measurementseries
    (public_id, organization_id, {column}, quantity, unit, created_at)
SELECT gen_random_uuid(), %s, d, q, u, now()
FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[]) AS v(d, q, u)
ON CONFLICT ({column}, quantity) WHERE {column} IS NOT NULL DO NOTHING
"""
_SERIES_IDS_SQL = """
SELECT s.{column}, s.quantity, s.id FROM readings_measurementseries s
JOIN unnest(%s::bigint[], %s::varchar[]) AS v(d, q) ON s.{column} = v.d AND s.quantity = v.q
WHERE s.organization_id = %s
"""


def series_ensure(kind: str, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The series of these (device id, quantity) pairs of one kind ("meter" or "sensor"),
    created where missing: two statements whatever the number. The device ids must have
    been resolved in the current organization (raw SQL bypasses the scoped manager)."""
    column = {"meter": "meter_id", "sensor": "sensor_id"}[kind]
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    devices, quantities = [p[0] for p in wanted], [p[1] for p in wanted]
    org_id = require_organization().pk
    with connection.cursor() as cursor:
        cursor.execute(_SERIES_SQL.format(column=column),
                       [org_id, devices, quantities, [UNITS[q] for q in quantities]])
        cursor.execute(_SERIES_IDS_SQL.format(column=column), [devices, quantities, org_id])
        return {(d, q): pk for d, q, pk in cursor.fetchall()}


# --- writing ---------------------------------------------------------------------------------

_INSERT_SQL = """
INSERT INTO readings_measurement (organization_id, series_id, measured_at, value, source)
SELECT %s, s, t, v, %s FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[]) AS x(s, t, v)
ON CONFLICT (series_id, measured_at) DO NOTHING
RETURNING series_id, measured_at
"""
_STORED_SQL = """
SELECT m.series_id, m.measured_at, m.value FROM readings_measurement m
JOIN unnest(%s::bigint[], %s::timestamptz[]) AS x(s, t) ON m.series_id = x.s AND m.measured_at = x.t
"""
_UPDATE_SQL = """
UPDATE readings_measurement m SET value = x.v, source = %s
FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[]) AS x(s, t, v)
WHERE m.series_id = x.s AND m.measured_at = x.t
"""


def measurements_store(
    rows: Sequence[tuple[int, datetime, float]], *, source: str
) -> set[tuple[int, datetime]]:
    """Insert (series id, instant, value) rows, keeping what is stored already (a repeated
    poll changes nothing); returns the keys this call inserted. Creates the months'
    partitions first (a short transaction of its own when not inside one)."""
    if not rows:
        return set()
    partitions.ensure_for(partitions.RAW, {t for _, t, _ in rows})
    org_id = require_organization().pk
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, [org_id, source, [r[0] for r in rows], [r[1] for r in rows],
                                     [r[2] for r in rows]])
        return {(s, t) for s, t in cursor.fetchall()}


def _stored(keys: list[tuple[int, datetime]]) -> dict[tuple[int, datetime], float]:
    with connection.cursor() as cursor:
        cursor.execute(_STORED_SQL, [[k[0] for k in keys], [k[1] for k in keys]])
        return {(s, t): v for s, t, v in cursor.fetchall()}


def _update(rows: list[MeasurementResult], source: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_SQL, [source, [r.series_id for r in rows],
                                     [r.measured_at for r in rows], [r.value for r in rows]])


# --- the delivery path ---------------------------------------------------------------------


def measurement_ingest(
    *, rows: Sequence[MeasurementIn], source: str = Source.API, replace: bool = False,
    now: datetime | None = None, local_dates: bool = False,
) -> MeasurementOutcome:
    """Validate and store a delivery of measurements, all or nothing.

    Idempotent: a row already stored with the same value is ``unchanged``; with another
    value it is refused (``replace`` overwrites it). ``committed`` is False when any row
    was refused: nothing of the delivery is stored then, and the valid rows say
    ``not_imported``. ``local_dates``: instants may also be written as the device's
    property writes dates (CSV files; the API stays ISO 8601).
    """
    if len(rows) > BATCH_LIMIT:
        from django.core.exceptions import ValidationError

        raise ValidationError({"measurements": [f"At most {BATCH_LIMIT} rows per delivery."]})
    now = now or timezone.now()
    org = require_organization()
    results = _validate(rows, _zone(org.time_zone), now, local_dates)
    valid = [r for r in results if r.status != "rejected"]
    if len(valid) == len(results) and valid:
        partitions.ensure_for(partitions.RAW, {r.measured_at for r in valid})
    try:
        with transaction.atomic():
            _write(results, source, replace)
            if any(r.status == "rejected" for r in results):
                raise _Rejected
    except _Rejected:
        for r in results:
            if r.status != "rejected":
                r.status = "not_imported"
        return MeasurementOutcome(results, committed=False)
    return MeasurementOutcome(results, committed=True)


def _validate(rows: Sequence[MeasurementIn], org_tz: tzinfo, now: datetime,
              local_dates: bool = False) -> list[MeasurementResult]:
    results = []
    for row in rows:
        result = MeasurementResult(row.line, _text(row.meter_number or row.sensor_number)[:64],
                                   _text(row.quantity)[:40])
        result.key = _device_key(row, result)
        quantity = _check_quantity(row, result.key[0] if result.key else None, result)
        number, why = parse_number(row.value)
        if why:
            result.reject("value", why)
        elif quantity:
            result.value = _convert(result, quantity, row.unit, number)
        results.append(result)
    devices = _devices({r.key for r in results if r.key}, org_tz)
    oldest = now - timedelta(days=settings.MEASUREMENT_MAX_AGE_DAYS)
    for row, result in zip(rows, results, strict=True):
        device = devices.get(result.key) if result.key else None
        if result.key and device is None:
            kind, serial = result.key
            name = "meterNumber" if kind == "meter" else "sensorNumber"
            result.reject(name, f"No {kind} with number {serial[:64]!r} in this organization.")
        elif device is not None:
            result.device_id = device[0]
        _check_instant(row, result, device[1] if device else org_tz, oldest, now,
                       parse_local_instant if local_dates else parse_instant)
    return results


def _check_instant(row: MeasurementIn, result: MeasurementResult, tz: tzinfo,
                   oldest: datetime, now: datetime, parse=parse_instant) -> None:
    try:
        instant, why = parse(row.measured_at, tz)
    except OverflowError:
        instant, why = None, "The timestamp is out of range."
    if why:
        result.reject("measuredAt", why)
    elif instant > now + FUTURE_TOLERANCE:
        result.reject("measuredAt", f"{instant.isoformat()} is in the future.")
    elif instant < oldest:
        result.reject("measuredAt", f"{instant.isoformat()} is older than "
                                    f"{settings.MEASUREMENT_MAX_AGE_DAYS} days; measurements "
                                    "that old are not accepted.")
    else:
        result.measured_at = instant


def _write(results: list[MeasurementResult], source: str, replace: bool) -> None:
    valid = [r for r in results if r.status != "rejected"]
    by_kind: dict[str, set[tuple[int, str]]] = {"meter": set(), "sensor": set()}
    for r in valid:
        by_kind[r.key[0]].add((r.device_id, r.quantity))
    series = {(kind, *k): v for kind in ("meter", "sensor")
              for k, v in series_ensure(kind, by_kind[kind]).items()}
    first: dict[tuple[int, datetime], MeasurementResult] = {}
    fresh = []
    for r in valid:
        r.series_id = series[(r.key[0], r.device_id, r.quantity)]
        seen = first.get((r.series_id, r.measured_at))
        if seen is None:
            first[(r.series_id, r.measured_at)] = r
            fresh.append(r)
        elif seen.value == r.value:
            r.status = "unchanged"
        else:
            r.reject("value", f"Line {seen.line} has another value for the same device, "
                              "quantity and instant.")
    if any(r.status == "rejected" for r in results):
        return  # nothing is written: the caller rolls back anyway
    inserted = measurements_store([(r.series_id, r.measured_at, r.value) for r in fresh],
                                  source=source)
    _settle_existing(fresh, inserted, source, replace)


def _settle_existing(fresh: list[MeasurementResult], inserted: set, source: str,
                     replace: bool) -> None:
    """Rows that were stored before this delivery: the same value is a replay, another
    value is refused (or replaced with ``replace``)."""
    for r in fresh:
        if (r.series_id, r.measured_at) in inserted:
            r.status = "created"
    older = [r for r in fresh if r.status != "created"]
    if not older:
        return
    stored = _stored([(r.series_id, r.measured_at) for r in older])
    differing = []
    for r in older:
        if stored[(r.series_id, r.measured_at)] == r.value:
            r.status = "unchanged"
        elif replace:
            r.status = "replaced"
            differing.append(r)
        else:
            r.reject("value", f"{stored[(r.series_id, r.measured_at)]:g} is stored for this "
                              "device, quantity and instant; send replace=true to overwrite it.")
    if differing:
        _update(differing, source)
