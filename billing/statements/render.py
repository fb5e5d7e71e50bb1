"""Statements as HTML (Django templates) and PDF (WeasyPrint).

The print stylesheet and WeasyPrint's font configuration are parsed once per process and
reused by every render: parsing CSS and scanning fonts would otherwise cost a worker about
as much as laying out a one-page statement. The HTML carries no external references (the
logo is a ``data:`` URI, the chart inline SVG), and WeasyPrint may not fetch anything else
anyway: its ``url_fetcher`` (billspree.core.pdf) allows only ``data:`` URIs and the
product's static files, so an injected ``<img src="http://…">`` or ``file:///…`` that got
past escaping loads nothing.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats

from billing.selectors.building_statements import BuildingStatementData
from billing.selectors.statements import CreditNoteStatementData, InvoiceStatementData
from billing.statements.chart import bar_chart_svg
from billing.statements.payment import payment_part
from billspree.core.pdf import url_fetcher

CSS_PATH = Path(settings.BASE_DIR) / "templates" / "billing" / "statements" / "print.css"
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _weasy():
    """(FontConfiguration, CSS) built once per process."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(string=CSS_PATH.read_text(encoding="utf-8"), font_config=fonts,
              url_fetcher=url_fetcher())
    return fonts, css


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of a statement's HTML with the cached print stylesheet."""
    from weasyprint import HTML

    # One render at a time per process: WeasyPrint (pango, fontconfig, harfbuzz under a shared
    # FontConfiguration) is not thread-safe, and `make demo` runs its worker with a thread
    # pool: two statements laid out at once crashed it ("realloc(): invalid next size").
    # Prefork workers are separate processes and still render in parallel.
    with _lock:
        fonts, css = _weasy()
        return HTML(string=html, base_url=str(settings.BASE_DIR),
                    url_fetcher=url_fetcher()).write_pdf(stylesheets=[css], font_config=fonts)


def htmls_to_pdf(htmls: list[str]) -> bytes:
    """One PDF of several statements' HTML, each starting on its own page (a parent's
    summary with its children's statements attached)."""
    from weasyprint import HTML

    with _lock:
        fonts, css = _weasy()
        docs = [HTML(string=h, base_url=str(settings.BASE_DIR), url_fetcher=url_fetcher())
                .render(stylesheets=[css], font_config=fonts) for h in htmls]
        pages = [page for doc in docs for page in doc.pages]
        return docs[0].copy(pages).write_pdf()


def _charts(data: InvoiceStatementData) -> list[str]:
    color = data.organization.brand_color
    return [
        bar_chart_svg(labels=[formats.date_format(m, "M") for m in s.months], values=s.values,
                      current=s.current, unit=s.unit, color=color, title=s.type_label)
        for s in data.charts
    ]


def invoice_statement_html(data: InvoiceStatementData) -> str:
    """The statement's HTML; with a QR-bill (CHF) or an EPC QR code (EUR) when the invoice
    can carry one (see :mod:`billing.statements.payment`)."""
    payment = payment_part(organization=data.organization, invoice=data.invoice)
    return render_to_string("billing/statements/invoice.html",
                            {"s": data, "charts": _charts(data), "payment": payment})


def building_statement_html(data: BuildingStatementData) -> str:
    return render_to_string("billing/statements/building.html", {"s": data})


def credit_note_html(data: CreditNoteStatementData) -> str:
    return render_to_string("billing/statements/credit_note.html", {"s": data})


def credit_note_pdf(credit_note) -> bytes:
    """A credit note's PDF as it renders now (``credit_note_pdf_store`` keeps the first
    one, which is what is served afterwards)."""
    from billing.selectors.statements import credit_note_statement_data

    return html_to_pdf(credit_note_html(credit_note_statement_data(credit_note=credit_note)))


#: The one-render-at-a-time lock, for other PDFs rendered in the same process (report
#: exports in ``monitoring.exports.pdf``): WeasyPrint is not thread-safe across documents.
render_lock = _lock
