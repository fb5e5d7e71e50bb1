"""Exports of report tables (CSV today; XLSX, PDF, tasks with progress and scheduled
reports are being added behind the same mixin).

A page view inherits :class:`ExportableMixin` and implements ``export_tables()``; a
request with ``?format=csv`` (and ``&table=<name>`` when the page has several tables)
answers the file instead of the page, with the same query parameters.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse

from monitoring.tables import DATETIME, MONTH, Table

FORMATS = ("csv",)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(table: Table) -> Iterator[str]:
    """The table as CSV lines: a header of headings, then values as plain text (numbers
    with a dot, dates ISO, instants ISO in the table's zone), streamed row by row."""
    writer = csv.writer(_Echo())
    yield writer.writerow([c.heading for c in table.columns])
    kinds = [c.kind for c in table.columns]
    for row in table.rows:
        yield writer.writerow([_csv_cell(v, k, table) for v, k in zip(row, kinds, strict=True)])


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


class ExportableMixin:
    """Serves ``?format=csv`` from ``export_tables()``; anything else renders the page."""

    def export_tables(self) -> list[Table]:  # pragma: no cover - each page implements it
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("format")
        if not fmt:
            return super().get(request, *args, **kwargs)
        if fmt not in FORMATS:
            return HttpResponse(f"Unknown format {fmt!r}: use any of {', '.join(FORMATS)}.",
                                status=400, content_type="text/plain")
        try:
            tables = self.export_tables()
        except ValidationError as exc:
            return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in
                                          exc.message_dict.items()),
                                status=400, content_type="text/plain")
        name = request.GET.get("table")
        table = next((t for t in tables if t.name == name), None) if name else (
            tables[0] if tables else None)
        if table is None:
            raise Http404("No such table on this page.")
        response = StreamingHttpResponse(csv_lines(table), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{table.name}.csv"'
        return response
