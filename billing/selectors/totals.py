"""What an invoice's totals block shows: the VAT summary per rate, net, VAT, cash rounding,
total — one reading for the API, the portal, the tenant portal and the PDF.

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

from billing.models import Invoice, InvoiceLine, LineKind
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
    legacy = sum((x.amount for x in lines if x.kind == LineKind.ROUNDING), ZERO)
    bases: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    vats: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for x in lines:
        if x.kind != LineKind.ROUNDING:
            rate = Decimal(x.tax_rate).quantize(RATE_STEP)
            bases[rate] += x.amount
            vats[rate] += x.tax_amount
    summary = [VatRate(rate=r, base=bases[r], vat=vats[r]) for r in sorted(bases)]
    return InvoiceTotals(
        net=invoice.net_total - legacy, vat_summary=summary, tax=invoice.tax_total,
        cash_rounding=invoice.cash_rounding + legacy, total=invoice.total,
    )
