"""CSV files of measurements (the portal's upload): read, then ingested all or nothing.

Columns (header names, any order, ``,`` or ``;``): ``meterNumber`` or ``sensorNumber``
(one per row), ``quantity``, ``measuredAt``, ``value``, optional ``unit``. Imported in
the request (at most ``CSV_ROW_LIMIT`` rows; larger sets go through the API in batches),
so the page shows the outcome at once: every bad row with its line, field and why.
"""

from __future__ import annotations

import csv
import io
from typing import IO

from billspree.core.files import check_upload_size
from readings.measurements.ingest import MeasurementIn, MeasurementOutcome, measurement_ingest
from readings.measurements.models import Source
from readings.parsing import sniff_delimiter

COLUMNS = ("meterNumber", "sensorNumber", "quantity", "measuredAt", "value", "unit")
REQUIRED = ("quantity", "measuredAt", "value")
CSV_ROW_LIMIT = 10_000
TEMPLATE = (
    "meterNumber;sensorNumber;quantity;measuredAt;value;unit\n"
    "E-1001;;active_power;2026-12-04T10:00:00+01:00;1520,5;W\n"
    ";TH-1;temperature;04.12.2026 10:00;21,5;°C\n"
)


class MeasurementCsvError(ValueError):
    """The file cannot be read as a measurements CSV (the message says where and why)."""


def _header(names: list[str]) -> dict[str, int]:
    wanted = {c.lower(): c for c in COLUMNS}
    found = {wanted[n.strip().lstrip("\ufeff").lower()]: i for i, n in enumerate(names)
             if n.strip().lstrip("\ufeff").lower() in wanted}
    missing = [c for c in REQUIRED if c not in found]
    if missing or not ({"meterNumber", "sensorNumber"} & found.keys()):
        raise MeasurementCsvError(
            f"Line 1: missing column(s) {', '.join(missing or ['meterNumber or sensorNumber'])}"
            f"; expected {', '.join(COLUMNS)} (unit optional), separated by ',' or ';'.")
    return found


def csv_measurements(stream: IO[bytes]) -> list[MeasurementIn]:
    try:
        raw = stream.read()
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise MeasurementCsvError("The file is not UTF-8 text; export it as CSV (UTF-8).") from exc
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise MeasurementCsvError("Line 1: the file is empty; expected a header row.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(lines[0]))
    try:
        columns = _header(next(reader))
        rows = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= CSV_ROW_LIMIT:
                raise MeasurementCsvError(
                    f"More than {CSV_ROW_LIMIT:,} rows; split the file or send it through "
                    "the API (POST /api/v1/measurements/) in batches.")
            cell = {name: (record[i] if i < len(record) else "") for name, i in columns.items()}
            rows.append(MeasurementIn(reader.line_num, cell.get("meterNumber"),
                                      cell.get("sensorNumber"), cell.get("quantity"),
                                      cell.get("measuredAt"), cell.get("value"), cell.get("unit")))
    except csv.Error as exc:
        raise MeasurementCsvError(f"Line {reader.line_num}: {exc}; nothing was imported.") from exc
    return rows


def measurements_csv_import(*, file, replace: bool = False) -> MeasurementOutcome:
    """Import an uploaded CSV of measurements, all or nothing (raises
    :class:`MeasurementCsvError` when the file itself cannot be read)."""
    check_upload_size(file)
    rows = csv_measurements(file)
    if not rows:
        raise MeasurementCsvError("The file has a header but no rows.")
    return measurement_ingest(rows=rows, source=Source.UPLOAD, replace=replace,
                              local_dates=True)
