"""XLSX writer of report tables (xlsxwriter in constant-memory mode).

Why these choices:

* **Constant memory.** xlsxwriter normally keeps every cell until ``close()``; in
  ``constant_memory`` mode each row goes to a temporary file as soon as the next row starts,
  so a 100,000-row export costs the memory of one row (``bench/export_xlsx.py`` prints the
  peak RSS). The price: rows must be written in order, which a table's rows are.
* **Typed cells.** A spreadsheet is for computing: numbers are numbers (a ``Decimal`` becomes
  the double Excel stores) with the column's ``digits`` as their number format, percent
  columns are fractions formatted ``0.00%`` (a page's 2.5 % is the cell value 0.025), dates
  and months are Excel dates, and instants are Excel date-times *in the table's zone*
  (Excel has no time zones: the cell holds the naive local time people read on the page).
* **Text stays text.** Strings are written with ``write_string``: a billing point named
  ``=HYPERLINK(…)`` is not turned into a formula.
* One sheet per table (named after its title, at most 31 characters, unique), header row
  bold and frozen, an autofilter over the rows, column widths from the header and the first
  rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from monitoring.tables import DATE, DATETIME, MONTH, NUMBER, PERCENT, Column, Table

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAME_MAX = 31
#: rows looked at to size a column (later rows do not widen it: constant memory)
WIDTH_SAMPLE_ROWS = 500
MAX_WIDTH = 60
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_DATE_FORMATS = {DATE: "yyyy-mm-dd", DATETIME: "yyyy-mm-dd hh:mm", MONTH: "yyyy-mm"}
_DATE_WIDTHS = {DATE: 10, DATETIME: 16, MONTH: 7}


def number_format(column: Column) -> str | None:
    """The Excel number format of a column: ``#,##0.00`` for two digits, ``0.0%`` for a
    percent column with one digit; None (General) for a number of unknown precision."""
    if column.kind in _DATE_FORMATS:
        return _DATE_FORMATS[column.kind]
    if column.kind not in (NUMBER, PERCENT):
        return None
    digits = column.digits
    if digits is None:
        return "0.00%" if column.kind == PERCENT else None
    decimals = "." + "0" * digits if digits > 0 else ""
    return f"0{decimals}%" if column.kind == PERCENT else f"#,##0{decimals}"


def sheet_names(tables: list[Table]) -> list[str]:
    """Valid, unique sheet names (Excel: ≤ 31 characters, none of ``[]:*?/\\``, unique
    without regard to case)."""
    names: list[str] = []
    taken: set[str] = set()
    for table in tables:
        base = _BAD_SHEET_CHARS.sub(" ", table.title or table.name).strip().strip("'")
        base = base[:SHEET_NAME_MAX].strip() or "Sheet"
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            suffix = f" ({n})"
            name = base[:SHEET_NAME_MAX - len(suffix)].rstrip() + suffix
        taken.add(name.lower())
        names.append(name)
    return names


def write_xlsx(tables: list[Table], path: str | Path,
               progress: Callable[[int], None] | None = None) -> None:
    """Write ``tables`` as one workbook at ``path``. ``progress`` is called with the number
    of rows written so far (over all sheets)."""
    import xlsxwriter  # here: ~10 MB that a web worker serving pages need not carry

    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
        "strings_to_urls": False, "remove_timezone": False,
    })
    try:
        if tables:
            workbook.set_properties({"title": tables[0].title,
                                     "comments": " ".join(tables[0].notes)})
        bold = workbook.add_format({"bold": True, "bottom": 1})
        done = 0
        for table, name in zip(tables, sheet_names(tables), strict=True):
            done = _write_sheet(workbook, workbook.add_worksheet(name), table, bold, done,
                                progress)
    finally:
        workbook.close()


def _write_sheet(workbook, sheet, table: Table, bold, done: int,
                 progress: Callable[[int], None] | None) -> int:
    columns = list(table.columns)
    formats = [_format(workbook, c) for c in columns]
    widths = [len(c.heading) for c in columns]
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.heading, bold)
    sheet.freeze_panes(1, 0)
    writers = [_writer(c, table) for c in columns]
    row_n = 0
    for row_n, row in enumerate(table.rows, 1):
        for col, (value, write) in enumerate(zip(row, writers, strict=True)):
            if value is None:
                continue
            write(sheet, row_n, col, value, formats[col])
            if row_n <= WIDTH_SAMPLE_ROWS:
                widths[col] = max(widths[col], _width(value, columns[col]))
        done += 1
        if progress is not None:
            progress(done)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(MAX_WIDTH, width + 2))
    if columns:
        sheet.autofilter(0, 0, max(row_n, 1), len(columns) - 1)
    return done


def _format(workbook, column: Column):
    fmt = number_format(column)
    return workbook.add_format({"num_format": fmt}) if fmt else None


def _writer(column: Column, table: Table):
    kind = column.kind
    if kind in (NUMBER, PERCENT):
        scale = 100 if kind == PERCENT else 1

        def write_number(sheet, r, c, value, fmt):
            if isinstance(value, int | float | Decimal):
                sheet.write_number(r, c, float(value) / scale, fmt)
            else:
                sheet.write_string(r, c, str(value))
        return write_number
    if kind in _DATE_FORMATS:
        def write_date(sheet, r, c, value, fmt):
            if isinstance(value, datetime):
                local = value.astimezone(table.zone) if value.tzinfo else value
                sheet.write_datetime(r, c, local.replace(tzinfo=None), fmt)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, value, fmt)
            else:
                sheet.write_string(r, c, str(value))
        return write_date

    def write_text(sheet, r, c, value, fmt):
        sheet.write_string(r, c, str(value))
    return write_text


def _width(value, column: Column) -> int:
    if column.kind in _DATE_WIDTHS:
        return _DATE_WIDTHS[column.kind]
    if column.kind in (NUMBER, PERCENT) and isinstance(value, int | float | Decimal):
        digits = column.digits if column.digits is not None else 2
        size = len(f"{float(value):,.{digits}f}")
        return size + (1 if column.kind == PERCENT else 0)
    return len(str(value))
