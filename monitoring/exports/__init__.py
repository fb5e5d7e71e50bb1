"""Exports of report tables: CSV, XLSX and PDF writers, background export jobs and
scheduled reports, behind one mixin.

A page view inherits :class:`ExportableMixin` and implements ``export_tables()`` (and
may set ``export_title`` and ``export_period()``); then ``?format=csv|xlsx|pdf`` on the
page's own URL answers the file instead of the page, with the same query parameters:

* ``csv``: one table (``&table=<name>``, else the first), streamed row by row;
* ``xlsx``: every table of the page, one sheet each (or only ``&table=<name>``);
* ``pdf``: every table (or ``&table=``), with the title, notes, period, page numbers.

An XLSX or PDF of more rows than ``settings.EXPORT_BACKGROUND_ROWS`` is not written inside
the request: the page creates an :class:`~monitoring.models.ExportJob` and redirects to
its progress page (``/monitoring/exports/<id>/``); a Celery task writes the file. CSV always
streams (it costs the memory of one row whatever the size). A page whose rows are a
generator says how many there are with ``export_row_count()`` (unknown: background).

The writers are :mod:`monitoring.exports.csv`, :mod:`~monitoring.exports.xlsx` and
:mod:`~monitoring.exports.pdf`; :mod:`~monitoring.exports.pages` runs a page's export
outside its request (jobs, schedules).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect

from monitoring.exports.csv import csv_lines
from monitoring.tables import Table

FORMATS = ("csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

__all__ = ["CONTENT_TYPES", "FORMATS", "ExportableMixin", "background_rows", "csv_lines"]


def background_rows() -> int:
    return int(getattr(settings, "EXPORT_BACKGROUND_ROWS", 50_000))


def _bad_request(text: str) -> HttpResponse:
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


class ExportableMixin:
    """Serves ``?format=csv|xlsx|pdf`` from ``export_tables()``; without ``format`` the
    page renders as usual."""

    #: the report's name in files, PDFs, the exports list and the scheduled-report form
    export_title: str = ""

    def export_tables(self) -> list[Table]:  # pragma: no cover - each page implements it
        raise NotImplementedError

    def export_period(self) -> str:
        """The period the tables cover, as people say it ("1–31 Oct 2026"); "" if none."""
        return ""

    def export_row_count(self, tables: list[Table]) -> int | None:
        """How many rows the export writes (None: unknown, e.g. rows from a generator)."""
        total = 0
        for table in tables:
            try:
                total += len(table.rows)  # type: ignore[arg-type]
            except TypeError:
                return None
        return total

    def page_export(self):
        from monitoring.exports.pages import PageExport

        tables = self.export_tables()
        title = self.export_title or (tables[0].title if tables else "Report")
        return PageExport(tables=tables, title=title, period=self.export_period(),
                          organization=getattr(self.request, "organization", None))

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("format")
        if not fmt:
            return super().get(request, *args, **kwargs)
        if fmt not in FORMATS:
            return _bad_request(f"format: unknown format {fmt!r}: use any of "
                                f"{', '.join(FORMATS)}.")
        try:
            export = self.page_export()
        except ValidationError as exc:
            return _bad_request("; ".join(f"{k}: {' '.join(v)}" for k, v in
                                          exc.message_dict.items()))
        name = request.GET.get("table") or ""
        if name and not any(t.name == name for t in export.tables):
            raise Http404("No such table on this page.")
        if not export.tables:
            raise Http404("This page has no table to export.")
        if fmt == "csv":
            return self._csv_response(export, name)
        count = self.export_row_count([t for t in export.tables if not name or t.name == name])
        if count is None or count > background_rows():
            return self._background(export, fmt, name, count)
        return self._file_response(export, fmt, name)

    def _csv_response(self, export, name: str) -> StreamingHttpResponse:
        table = next(t for t in export.tables if t.name == name) if name else export.tables[0]
        response = StreamingHttpResponse(csv_lines(table), content_type=CONTENT_TYPES["csv"])
        response["Content-Disposition"] = f'attachment; filename="{table.name}.csv"'
        return response

    def _file_response(self, export, fmt: str, name: str) -> FileResponse:
        from monitoring.exports.pages import write_export

        # written to a temporary file (xlsxwriter's constant-memory mode writes to disk),
        # opened, then unlinked: the open handle streams it and nothing is left behind
        folder = tempfile.mkdtemp(prefix="bs-export-")
        path = Path(folder) / f"export.{fmt}"
        try:
            write_export(export, fmt, path, table=name)
            handle = path.open("rb")
        finally:
            path.unlink(missing_ok=True)
            Path(folder).rmdir()
        response = FileResponse(handle, as_attachment=True, filename=export.filename(fmt),
                                content_type=CONTENT_TYPES[fmt])
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    def _background(self, export, fmt: str, name: str, count: int | None):
        from monitoring.exports.jobs import export_job_create
        from monitoring.exports.pages import report_query

        job = export_job_create(page=self.request.path, query=report_query(self.request.GET),
                                fmt=fmt, table=name, title=export.title, rows_total=count,
                                actor=self.request.user)
        return redirect("monitoring:export_detail", id=job.public_id)
