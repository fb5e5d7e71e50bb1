"""What an invoice's totals block shows: the VAT summary per rate, net, VAT, cash rounding,
total — one reading for the API, the portal, the tenant portal and the PDF, of invoices
and of credit notes.

Invoices drafted before ``Invoice.cash_rounding`` existed carried cash rounding as a
``rounding`` line inside the net (issued ones are immutable and keep it): it is shown as
the cash rounding, outside the net and the VAT summary, so ``net + VAT + cash rounding =
total`` reads the same for old and new invoices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, LineKind
from tariffs.pricing.vat import RATE_STEP, VatRate

ZERO = Decimal("0")


@dataclass(frozen=True)
class InvoiceTotals:
    net: Decimal
    vat_summary: list[VatRate]
    tax: Decimal
    cash_rounding: Decimal
    total: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    def vat_payload(self) -> list[dict[str, str]]:
        return [{"rate": str(r.rate), "base": str(r.base), "vat": str(r.vat)}
                for r in self.vat_summary]


def invoice_totals(invoice: Invoice, lines: Iterable[InvoiceLine] | None = None) -> InvoiceTotals:
    """``lines`` default to ``invoice.lines.all()`` (prefetched where lists are shown). The
    VAT row of a rate is the sum of its lines' stored VAT: their shares (new invoices), or
    the per-line VAT of old ones, so the rows always add up to the stored VAT total."""
    lines = list(invoice.lines.all() if lines is None else lines)
    legacy, summary = _vat_rows(lines, [x.kind == LineKind.ROUNDING for x in lines])
    return InvoiceTotals(
        net=invoice.net_total - legacy, vat_summary=summary, tax=invoice.tax_total,
        cash_rounding=invoice.cash_rounding + legacy, total=invoice.total,
    )


def legacy_rounding(invoice_ids: Iterable[int]) -> dict[int, Decimal]:
    """Per invoice id, the old ``rounding`` lines' amount (one query, for lists): the net
    shown is ``net_total`` minus it, as :func:`invoice_totals` reads a single invoice."""
    rows = (InvoiceLine.objects.filter(invoice_id__in=list(invoice_ids), kind=LineKind.ROUNDING)
            .values_list("invoice_id").annotate(amount=Sum("amount")))
    return dict(rows)


def credit_note_totals(note: CreditNote,
                       lines: Iterable[CreditNoteLine] | None = None) -> InvoiceTotals:
    """The same block for a credit note (its amounts negative): VAT per rate from its lines'
    stored shares, its cash rounding after the total. A full credit of an old invoice
    copied its ``rounding`` line: read as cash rounding, as on the invoice it cancels."""
    lines = list(note.lines.select_related("invoice_line") if lines is None else lines)
    legacy, summary = _vat_rows(lines, [
        x.invoice_line is not None and x.invoice_line.kind == LineKind.ROUNDING for x in lines])
    return InvoiceTotals(
        net=note.net_total - legacy, vat_summary=summary, tax=note.tax_total,
        cash_rounding=note.cash_rounding + legacy, total=note.total,
    )


def _vat_rows(lines: list, rounding: list[bool]) -> tuple[Decimal, list[VatRate]]:
    """(the old rounding lines' amount, the VAT rows of the other lines by rate)."""
    legacy = ZERO
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    vats: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for x, is_rounding in zip(lines, rounding, strict=True):
        if is_rounding:
            legacy += x.amount
            continue
        rate = Decimal(x.tax_rate).quantize(RATE_STEP)
        bases[rate] += x.amount
        vats[rate] += x.tax_amount
    return legacy, [VatRate(rate=r, base=bases[r], vat=vats[r]) for r in sorted(bases)]


def currency_totals(invoices) -> list[tuple[str, Decimal]]:
    """(currency, sum of totals) of a queryset of invoices, one row per currency in one
    query: a run may bill properties in several currencies, and sums never mix them."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in invoices.values("currency").annotate(total=Sum("total")):
        sums[str(row["currency"])] += row["total"] or Decimal("0")
    return sorted(sums.items())
