"""A statement group (the generation task's up to 200 invoices) is loaded once: the
statements then print exactly what one-by-one loading prints, and a PDF's data costs no
query of its own (billing.selectors.statements.invoices_for_statements)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice
from billing.selectors.statements import invoice_statement_data, invoices_for_statements
from billing.statements.render import invoice_statement_html
from tests.billing.factories_statements import billed_house, brand


@pytest.fixture
def group(in_org_a, django_capture_on_commit_callbacks):
    brand(in_org_a.org)
    with django_capture_on_commit_callbacks(execute=False):
        return [billed_house(tenant_email=f"t{i}@example.com", estimated=bool(i % 2)).invoice
                for i in range(3)]


def test_a_group_loaded_statement_prints_what_a_single_one_prints(group):
    loaded = invoices_for_statements([inv.pk for inv in group])
    assert [inv.pk for inv in loaded] == sorted(inv.pk for inv in group)
    for inv in loaded:
        alone = invoice_statement_data(invoice=Invoice.objects.get(pk=inv.pk))
        together = invoice_statement_data(invoice=inv)
        assert invoice_statement_html(together) == invoice_statement_html(alone)
        # the chart is there and has this invoice's months (not the group's), with use
        [electricity, water] = together.charts
        assert len(electricity.months) == 12 and electricity.months == alone.charts[0].months
        assert any(v for v in water.values if v is not None and v > Decimal(0))


def test_a_group_loaded_statement_reads_nothing_more(group):
    with CaptureQueriesContext(connection) as load:
        loaded = invoices_for_statements([inv.pk for inv in group])
    assert len(load.captured_queries) == 5  # invoices, lines, periods, meters, rollups
    with CaptureQueriesContext(connection) as per_pdf:
        for inv in loaded:
            invoice_statement_html(invoice_statement_data(invoice=inv))
    assert per_pdf.captured_queries == []


def test_an_empty_group_loads_nothing(in_org_a):
    with CaptureQueriesContext(connection) as load:
        assert invoices_for_statements([]) == []
    assert len(load.captured_queries) <= 1
