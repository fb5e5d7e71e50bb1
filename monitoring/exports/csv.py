"""CSV writer of report tables: plain text a script reads (numbers with a dot, dates ISO,
instants ISO 8601 with their offset in the table's zone), streamed row by row, formula-safe
(:mod:`billspree.core.csv_export`: a billing point named ``=HYPERLINK(…)`` is shown as text;
a negative number stays a number)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import IO

from billspree.core import csv_export
from monitoring.tables import DATETIME, MONTH, Table

CONTENT_TYPE = "text/csv; charset=utf-8"


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(table: Table, progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """The table as CSV lines: a header of headings, then values as plain text, one line per
    row as the rows come (a generator of rows is never held in memory). ``progress`` is
    called with the number of rows written so far."""
    writer = csv_export.writer(_Echo())
    yield writer.writerow([c.heading for c in table.columns])
    kinds = [c.kind for c in table.columns]
    for n, row in enumerate(table.rows, 1):
        yield writer.writerow([_csv_cell(v, k, table) for v, k in zip(row, kinds, strict=True)])
        if progress is not None:
            progress(n)


def _csv_cell(value, kind: str, table: Table) -> str:
    if value is None:
        return ""
    if kind == DATETIME and isinstance(value, datetime):
        return value.astimezone(table.zone).isoformat()
    if kind == MONTH and isinstance(value, date):
        return value.strftime("%Y-%m")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(tables: list[Table], out: IO[bytes],
              progress: Callable[[int], None] | None = None) -> None:
    """The first table as a UTF-8 CSV file (a background job or a scheduled report: one
    table per CSV file, the page's ``&table=`` chooses which)."""
    for line in csv_lines(tables[0], progress):
        out.write(line.encode("utf-8"))
