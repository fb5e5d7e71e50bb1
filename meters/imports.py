"""Parsing of an installer's meter list (CSV) into rows the import service can create.

Installers send spreadsheets exported with ``,`` or ``;`` (the latter with decimal commas
in much of Europe), headers in varying spellings and types in words ("Electric", "hot
water"). Parsing is separate from writing so that every bad row is reported at once
(line, column, reason) before anything is stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from meters.models import UNITS_BY_TYPE, MeterType

#: Accepted header spellings → field name.
HEADERS = {
    "serial_number": "serial_number",
    "serial": "serial_number",
    "serialnumber": "serial_number",
    "meternumber": "serial_number",
    "meter_number": "serial_number",
    "number": "serial_number",
    "type": "type",
    "metertype": "type",
    "meter_type": "type",
    "unit": "unit",
    "label": "label",
    "name": "label",
    "location": "label",
    "multiplier": "multiplier",
    "ct_ratio": "multiplier",
    "factor": "multiplier",
    "register_digits": "register_digits",
    "digits": "register_digits",
    "parent": "parent",
    "parent_serial": "parent",
    "main_meter": "parent",
    "notes": "notes",
    "note": "notes",
    "comment": "notes",
}
REQUIRED = ("serial_number", "type")

#: Words installers use for each type; "water" alone is ambiguous (cold or hot) and refused.
TYPE_WORDS = {
    **{t.value: t.value for t in MeterType},
    **{t.label.lower(): t.value for t in MeterType},
    "electric": MeterType.ELECTRICITY,
    "power": MeterType.ELECTRICITY,
    "cold water": MeterType.COLD_WATER,
    "coldwater": MeterType.COLD_WATER,
    "hot water": MeterType.HOT_WATER,
    "hotwater": MeterType.HOT_WATER,
    "thermal": MeterType.HEAT,
    "heating": MeterType.HEAT,
    "cold": MeterType.COOLING,
}
MAX_ROWS = 10_000


@dataclass
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class MeterRow:
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    parent_serial: str = ""


def sniff_delimiter(header_line: str) -> str:
    """``;`` when the header has more semicolons than commas, else ``,``."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _map_headers(raw: list[str]) -> tuple[dict[int, str], list[RowError]]:
    mapping: dict[int, str] = {}
    errors: list[RowError] = []
    for index, name in enumerate(raw):
        key = name.strip().lower().replace(" ", "_").replace("-", "_")
        target = HEADERS.get(key) or HEADERS.get(key.replace("_", ""))
        if target is None and key:
            errors.append(RowError(1, name.strip(), "unknown column; " + _known_columns()))
        elif target in mapping.values():
            errors.append(RowError(1, name.strip(), f"column {target} appears twice"))
        elif target:
            mapping[index] = target
    missing = [c for c in REQUIRED if c not in mapping.values()]
    errors += [RowError(1, c, "required column is missing") for c in missing]
    return mapping, errors


def _known_columns() -> str:
    return "use serial_number, type, unit, label, multiplier, register_digits, parent, notes"


def _parse_type(text: str) -> str | None:
    return TYPE_WORDS.get(" ".join(text.strip().lower().replace("_", " ").split()))


def _parse_decimal(text: str, delimiter: str) -> Decimal | None:
    cleaned = text.strip().replace(" ", "")
    if delimiter == ";":
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _row_values(
    line: int, cells: dict[str, str], delimiter: str
) -> tuple[MeterRow, list[RowError]]:
    row, errors = MeterRow(line), []
    serial = cells.get("serial_number", "").strip()
    if not serial:
        errors.append(RowError(line, "serial_number", "a serial number is required"))
    elif len(serial) > 64:
        errors.append(RowError(line, "serial_number", "longer than 64 characters"))
    meter_type = _parse_type(cells.get("type", ""))
    if meter_type is None:
        errors.append(RowError(line, "type", _type_reason(cells.get("type", ""))))
    row.values.update(
        serial_number=serial,
        type=meter_type,
        label=cells.get("label", "").strip(),
        notes=cells.get("notes", "").strip(),
    )
    errors += _unit(row, cells.get("unit", ""), meter_type)
    errors += _numbers(row, cells, delimiter)
    row.parent_serial = cells.get("parent", "").strip()
    return row, errors


def _type_reason(text: str) -> str:
    if not text.strip():
        return "a meter type is required"
    if text.strip().lower() == "water":
        return "'water' is ambiguous: write cold water or hot water"
    return f"unknown meter type '{text.strip()}'; use one of {', '.join(MeterType.values)}"


def _unit(row: MeterRow, text: str, meter_type: str | None) -> list[RowError]:
    if meter_type is None:
        return []
    allowed = UNITS_BY_TYPE[meter_type]
    text = text.strip().replace("m3", "m³")
    unit = allowed[0] if not text else next((u for u in allowed if u.lower() == text.lower()), None)
    if unit is None:
        kind = MeterType(meter_type).label.lower()
        reason = f"a {kind} meter cannot measure in '{text}'; use one of {', '.join(allowed)}"
        return [RowError(row.line, "unit", reason)]
    row.values["unit"] = unit
    return []


def _numbers(row: MeterRow, cells: dict[str, str], delimiter: str) -> list[RowError]:
    errors = []
    if cells.get("multiplier", "").strip():
        value = _parse_decimal(cells["multiplier"], delimiter)
        if value is None or value <= 0 or value >= Decimal("100000000"):
            errors.append(
                RowError(
                    row.line, "multiplier", f"'{cells['multiplier']}' is not a positive number"
                )
            )
        else:
            row.values["multiplier"] = value
    if cells.get("register_digits", "").strip():
        text = cells["register_digits"].strip()
        if not text.isdigit() or not 1 <= int(text) <= 15:
            errors.append(
                RowError(
                    row.line, "register_digits", f"'{text}' is not a whole number from 1 to 15"
                )
            )
        else:
            row.values["register_digits"] = int(text)
    return errors


def parse_meter_csv(content: bytes | str) -> tuple[list[MeterRow], list[RowError]]:
    """Rows and every error found (line numbers count the header as line 1)."""
    text = decode(content)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return [], [RowError(1, "", "the file is empty; the first line must name the columns")]
    delimiter = sniff_delimiter(lines[0])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    mapping, errors = _map_headers(next(reader))
    if errors:
        return [], errors
    rows: list[MeterRow] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            errors.append(RowError(line, "", f"more than {MAX_ROWS} meters; split the file"))
            break
        named = {mapping[i]: v for i, v in enumerate(cells) if i in mapping}
        row, row_errors = _row_values(line, named, delimiter)
        rows.append(row)
        errors += row_errors
    if not rows and not errors:
        errors.append(RowError(2, "", "the file has a header but no meters"))
    return rows, errors
