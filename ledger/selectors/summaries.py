"""A parent summary as printed: the children, their invoices, the total."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string

from billing.selectors.statements import invoice_statement_data, logo_data_uri
from billing.statements.render import htmls_to_pdf, invoice_statement_html
from ledger.models import ParentSummary


@dataclass
class ChildBlock:
    account: object
    items: list
    subtotal: Decimal


def summary_blocks(summary: ParentSummary) -> list[ChildBlock]:
    items = list(summary.items.select_related("invoice", "child__tenant")
                 .order_by("child__tenant__name", "invoice__number"))
    blocks: dict[int, ChildBlock] = {}
    for item in items:
        block = blocks.setdefault(item.child_id, ChildBlock(item.child, [], Decimal("0")))
        block.items.append(item)
        block.subtotal += item.amount
    return list(blocks.values())


def summary_pdf(summary: ParentSummary) -> bytes:
    """The summary page, then each child invoice's statement as the tenant gets it."""
    org = summary.organization
    blocks = summary_blocks(summary)
    page = render_to_string("ledger/summary.html", {
        "summary": summary, "blocks": blocks,
        "s": {"organization": org, "logo_data_uri": logo_data_uri(org)}})
    statements = [invoice_statement_html(invoice_statement_data(invoice=item.invoice))
                  for block in blocks for item in block.items]
    return htmls_to_pdf([page, *statements])
