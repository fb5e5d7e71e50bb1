"""PDF writer of report tables (WeasyPrint), for people who hand a report on.

Cells are formatted as the page shows them (days "1 Oct 2026", instants in the table's
zone, numbers with the column's digits and thousands grouped). The layout (title, notes,
period, one table per report table with its header repeated on every page, "page n of m"
in the footer) is ``templates/monitoring/export_pdf.html``.

Rendering shares the billing statements' process-wide lock (WeasyPrint is not
thread-safe: see ``billing.statements.render``) and their static-only URL fetcher
(``billspree.core.pdf``: an injected ``<img src="http://…">`` loads nothing). A PDF is a
document, not a data dump: past ``settings.EXPORT_PDF_MAX_ROWS`` rows a table stops and
says so (the XLSX and CSV have every row).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from billing.statements.render import render_lock
from billspree.core.pdf import url_fetcher
from billspree.core.timefmt import format_day, format_instant, format_month
from monitoring.tables import DATE, DATETIME, MONTH, NUMBER, PERCENT, Column, Table

CONTENT_TYPE = "application/pdf"
TEMPLATE = "monitoring/export_pdf.html"


def max_rows() -> int:
    return int(getattr(settings, "EXPORT_PDF_MAX_ROWS", 5000))


def format_cell(value: Any, column: Column, table: Table) -> str:
    """A value as the page shows it."""
    if value is None:
        return ""
    kind = column.kind
    if kind in (NUMBER, PERCENT) and isinstance(value, int | float | Decimal):
        return _number(value, column.digits) + (" %" if kind == PERCENT else "")
    if kind == DATETIME and isinstance(value, datetime):
        return format_instant(value, table.zone)
    if kind == MONTH and isinstance(value, date):
        return format_month(value)
    if kind == DATE and isinstance(value, date):
        return format_day(value, table.zone)
    return str(value)


def _number(value: int | float | Decimal, digits: int | None) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if digits is None:
        return f"{number:,f}"
    return f"{number:,.{digits}f}"


def pdf_context(tables: list[Table], *, title: str = "", period: str = "",
                organization: Any = None, progress: Callable[[int], None] | None = None
                ) -> dict[str, Any]:
    limit, done, shown = max_rows(), 0, []
    for table in tables:
        columns = list(table.columns)
        rows, cut = [], False
        for row in table.rows:
            if len(rows) >= limit:
                cut = True
                break
            rows.append([(format_cell(v, c, table), c.kind in (NUMBER, PERCENT))
                         for v, c in zip(row, columns, strict=True)])
            done += 1
            if progress is not None:
                progress(done)
        shown.append({"table": table, "columns": columns, "rows": rows, "cut": cut,
                      "limit": limit})
    return {"title": title or (tables[0].title if tables else "Report"), "period": period,
            "tables": shown, "organization": organization,
            "generated": format_instant(timezone.now(),
                                        tables[0].zone if tables else None, zone_name=True)}


def write_pdf(tables: list[Table], path: str | Path, *, title: str = "", period: str = "",
              organization: Any = None, progress: Callable[[int], None] | None = None) -> None:
    """Render ``tables`` as one PDF at ``path``."""
    from weasyprint import HTML

    html = render_to_string(TEMPLATE, pdf_context(tables, title=title, period=period,
                                                  organization=organization,
                                                  progress=progress))
    with render_lock:
        HTML(string=html, base_url=str(settings.BASE_DIR),
             url_fetcher=url_fetcher()).write_pdf(target=str(path))
