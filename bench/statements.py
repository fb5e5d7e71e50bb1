"""Benchmark: invoice statement PDFs per second per core through the product path, against
bare WeasyPrint rendering the same HTML in the same run.

Product path (what the background task runs per invoice, after loading its group of
invoices with their relations in one query): ``invoice_statement_generate``
= the statement selector (invoice, lines, billed periods, meters, the chart's rollups),
the template, the inline SVG charts, WeasyPrint with the cached print stylesheet and font
configuration, the write to the ``statements`` storage (filesystem, a temporary folder
here) and the status update of the InvoiceStatement row.

Baseline: ``weasyprint.HTML(string=html).write_pdf(...)`` of the very same HTML (rendered
once beforehand through the product's template), with the same stylesheet and font
configuration objects — the best bare WeasyPrint does on that document, so the ratio is
the cost of everything the product adds around the layout engine.

Both run in this one process (one core; PostgreSQL is on the other), under the garbage
collector settings of a worker process (``billspree.core.gc_tuning``), alternating
PDF by PDF so load from other work on the box hits both alike; the medians of the single
PDFs' times are reported (per_s = 1 / median).
The invoices are built in a dedicated organization inside a transaction that is rolled
back at the end: nothing is left in the database.

    .venv/bin/python bench/statements.py --small     # 2 invoices × 3 rounds
    .venv/bin/python bench/statements.py             # 6 invoices × 5 rounds
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from billing.models import StatementStatus  # noqa: E402
from billing.selectors.statements import (  # noqa: E402
    invoice_statement_data,
    invoices_for_statements,
)
from billing.services.statements import invoice_statement_generate  # noqa: E402
from billing.statements import render  # noqa: E402
from billspree.core.gc_tuning import worker_gc_tune  # noqa: E402
from billspree.core.models import Organization  # noqa: E402
from billspree.core.scoping import organization_context  # noqa: E402

ORG_NAME = "Bench statements (bench/statements.py)"


class Rollback(Exception):
    pass


def build(count: int):
    """``count`` issued invoices (each a flat with electricity and water, 13 months of
    readings, tiered tariff, two VAT rates, an estimated reading) and their charts."""
    from tests.billing.factories_statements import billed_house, brand

    org = Organization.objects.create(name=ORG_NAME)
    with organization_context(org):
        brand(org)
        return org, [billed_house(tenant_email=f"bench{i}@example.test").invoice
                     for i in range(count)]


def product_one(invoice) -> float:
    t = time.perf_counter()
    st = invoice_statement_generate(invoice=invoice)
    elapsed = time.perf_counter() - t
    assert st.status == StatementStatus.READY, st.error
    return elapsed


def bare_one(html: str) -> float:
    from weasyprint import HTML

    from billspree.core.pdf import url_fetcher

    fonts, css = render._weasy()
    t = time.perf_counter()
    HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=url_fetcher()).write_pdf(
        stylesheets=[css], font_config=fonts)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--invoices", type=int, default=None)
    args = parser.parse_args()
    # WeasyPrint and fontTools log every step at INFO: a worker runs at WARNING, and the
    # console output would be measured instead of the rendering
    logging.disable(logging.INFO)
    count = args.invoices or (2 if args.small else 6)
    runs = args.runs or (3 if args.small else 5)
    tmp = tempfile.TemporaryDirectory(prefix="bench-statements-")
    storage = {**settings.STORAGES, "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tmp.name, "base_url": None}}}
    result: dict[str, float] = {}
    try:
        with override_settings(STORAGES=storage), transaction.atomic():
            t = time.perf_counter()
            org, invoices = build(count)
            print(f"built {count} invoices in {time.perf_counter() - t:.1f} s", flush=True)
            with organization_context(org):
                # loaded as the generation task loads its group of up to 200 invoices (five
                # queries for the group: relations, lines, billed periods, the charts'
                # meters and rollups), outside the per-PDF timing: the group shares them
                invoices = invoices_for_statements([i.pk for i in invoices])
                htmls = [render.invoice_statement_html(invoice_statement_data(invoice=i))
                         for i in invoices]
                product_one(invoices[0])  # warm up: fonts, templates, first queries
                bare_one(htmls[0])
                # the garbage collector as a worker process has it (billspree/celery.py):
                # start-up heap frozen, young threshold raised; both paths run under it
                worker_gc_tune()
                product, bare = [], []
                for n in range(runs):
                    # PDF by PDF, product and bare back to back, alternating which goes
                    # first: load from other work on the box hits both alike
                    for i, (invoice, html) in enumerate(zip(invoices, htmls, strict=True)):
                        if (n + i) % 2:
                            bare.append(bare_one(html))
                            product.append(product_one(invoice))
                        else:
                            product.append(product_one(invoice))
                            bare.append(bare_one(html))
                    done = product[-count:], bare[-count:]
                    print(f"round {n + 1}: product {count / sum(done[0]):.2f} PDF/s, "
                          f"bare {count / sum(done[1]):.2f} PDF/s", flush=True)
                pages = sum(len(h) for h in htmls) // len(htmls)
            # medians of the single PDFs' times (robust against a busy moment)
            result = {"product": statistics.median(product), "bare": statistics.median(bare),
                      "html_chars": pages}
            raise Rollback
    except Rollback:
        pass
    finally:
        tmp.cleanup()
    per_s = 1 / result["product"]
    bare_per_s = 1 / result["bare"]
    print(f"BENCH statements pdfs={count * runs} per_s={per_s:.2f} bare_per_s={bare_per_s:.2f} "
          f"ratio={per_s / bare_per_s:.3f} invoices={count} runs={runs} "
          f"ms_per_pdf={1000 / per_s:.1f} bare_ms_per_pdf={1000 / bare_per_s:.1f}")


if __name__ == "__main__":
    main()
