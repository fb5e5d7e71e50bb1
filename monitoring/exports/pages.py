"""A page's export outside its request: which pages export, their tables for a stored
query, and the file written in a format.

A background job or a scheduled report stores a page as its path and query string. To
write it later, the page's view is resolved from the path and asked for its
``export_tables()`` with a request rebuilt from what was stored (the user, the
organization, the query), inside the organization's scope and time zone: the very code
that answers ``?format=xlsx`` in the browser, so a mailed report cannot disagree with the
page.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.utils.text import slugify

from monitoring.exports import csv as csv_writer
from monitoring.exports import pdf as pdf_writer
from monitoring.exports import xlsx as xlsx_writer
from monitoring.tables import Table

WRITERS = {"csv": csv_writer, "xlsx": xlsx_writer, "pdf": pdf_writer}
EXTENSIONS = {"csv": ".csv", "xlsx": ".xlsx", "pdf": ".pdf"}
#: query parameters that choose the file, not the report
FILE_PARAMS = ("format", "table")


@dataclass
class PageExport:
    tables: list[Table]
    title: str
    period: str = ""
    organization: Any = None

    def filename(self, fmt: str) -> str:
        if fmt == "csv" and self.tables:
            return f"{self.tables[0].name}.csv"
        return f"{slugify(self.title) or 'report'}{EXTENSIONS[fmt]}"


def report_query(query: QueryDict | str) -> str:
    """The query string of a report without the parameters that choose the file."""
    q = QueryDict(query, mutable=True) if isinstance(query, str) else query.copy()
    for name in FILE_PARAMS:
        q.pop(name, None)
    return q.urlencode()


def export_view_class(page: str):
    """The exportable view behind a path, or a ValidationError naming ``page``."""
    from monitoring.exports import ExportableMixin

    try:
        match = resolve(page)
    except Resolver404:
        raise ValidationError({"page": [f"No page at {page!r}."]}) from None
    view_class = getattr(match.func, "view_class", None)
    if view_class is None or not issubclass(view_class, ExportableMixin):
        raise ValidationError({"page": [f"The page at {page!r} has no export."]})
    return view_class, match


def exportable_pages() -> list[tuple[str, str]]:
    """(path, title) of every page without path parameters that exports: pages added by
    later work appear in the scheduled-report form without editing it."""
    from monitoring.exports import ExportableMixin

    found = []
    for route, callback in _walk(get_resolver().url_patterns):
        view_class = getattr(callback, "view_class", None)
        if view_class and issubclass(view_class, ExportableMixin) and "<" not in route:
            found.append(("/" + route, view_class.export_title or view_class.__name__))
    return sorted(found, key=lambda p: p[1])


def _walk(patterns, prefix: str = ""):
    for p in patterns:
        text = str(getattr(p.pattern, "_route", "")) if hasattr(p.pattern, "_route") else (
            p.pattern.regex.pattern.lstrip("^").rstrip("$"))
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + text)
        elif isinstance(p, URLPattern):
            yield prefix + text, p.callback


def page_export(*, page: str, query: str, organization: Any, user: Any = None,
                role: str | None = None) -> PageExport:
    """The page's tables for ``query``, as its view builds them for a request by ``user``.
    Call inside ``organization_context(organization)``; a bad query raises the page's
    ValidationError (by parameter)."""
    return _page_view(page, query, organization, user, role).page_export()


def _page_view(page: str, query: str, organization: Any, user: Any, role: str | None):
    view_class, match = export_view_class(page)
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = page
    request.GET = QueryDict(report_query(query))
    request.user = user or AnonymousUser()
    request.organization = organization
    request.role = role
    view = view_class()
    view.setup(request, *match.args, **match.kwargs)
    return view


def query_errors(exc: ValidationError) -> ValidationError:
    """A page's errors (by its query parameter) as errors of the stored ``query``, each
    message naming its parameter ("to: The period ends before it begins.")."""
    if not hasattr(exc, "error_dict"):
        return ValidationError({"query": exc.messages})
    return ValidationError({"query": [f"{name}: {text}" for name, texts in
                                      exc.message_dict.items() for text in texts]})


def page_export_checked(*, page: str, query: str, fmt: str, table: str = "",
                        organization: Any, user: Any = None, role: str | None = None,
                        ) -> tuple[PageExport, int | None]:
    """What a background job of this page, query, format and table would write, checked
    now: a ValidationError naming ``page``, ``query`` (with the page's parameter),
    ``format`` or ``table``, else the export and how many rows it writes (None: unknown).
    Call inside the organization's scope and time zone."""
    if fmt not in WRITERS:
        raise ValidationError({"format": [
            f"Unknown format {fmt!r}: use any of {', '.join(WRITERS)}."]})
    export_view_class(page)  # an unknown page is the page's error, not the query's
    view = _page_view(page, query, organization, user, role)
    try:
        export = view.page_export()
    except ValidationError as exc:
        raise query_errors(exc) from None
    tables = [t for t in export.tables if not table or t.name == table]
    if table and not tables:
        names = ", ".join(t.name for t in export.tables) or "none"
        raise ValidationError({"table": [
            f"No table {table!r} on this page for this query (its tables: {names})."]})
    if not tables:
        raise ValidationError({"table": ["This page has no table to export for this query."]})
    return export, view.export_row_count(tables)


def write_export(export: PageExport, fmt: str, path: str | Path, *, table: str = "",
                 progress: Callable[[int], None] | None = None) -> None:
    """Write the export's tables (one, by name, when ``table`` is given) at ``path``."""
    tables = export.tables
    if table:
        tables = [t for t in tables if t.name == table]
        if not tables:
            raise ValidationError({"table": [f"No table {table!r} on this page."]})
    if fmt == "pdf":
        pdf_writer.write_pdf(tables, path, title=export.title, period=export.period,
                             organization=export.organization, progress=progress)
    elif fmt == "xlsx":
        xlsx_writer.write_xlsx(tables, path, progress=progress)
    elif fmt == "csv":
        if not tables:
            raise ValidationError({"table": ["This page has no table to export."]})
        with open(path, "wb") as out:
            csv_writer.write_csv(tables, out, progress=progress)
    else:
        raise ValidationError({"format": [f"Unknown format {fmt!r}: use any of csv, xlsx, pdf."]})


def export_bytes(export: PageExport, fmt: str, *, table: str = "") -> bytes:
    """The file as bytes (a scheduled report's attachment)."""
    with tempfile.TemporaryDirectory(prefix="bs-export-") as folder:
        path = Path(folder) / f"export{EXTENSIONS.get(fmt, '')}"
        write_export(export, fmt, path, table=table)
        return path.read_bytes()
