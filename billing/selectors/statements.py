"""Read queries of statements: everything printed on an invoice's or a credit note's PDF
(the statement of building charges is :mod:`billing.selectors.building_statements`).

Why a selector builds plain dataclasses rather than handing models to the template: the PDF
is rendered in the background for thousands of invoices, so the data of one statement is
loaded in a fixed, small number of queries (invoice, lines, billed periods, meters, the
chart's rollups) whatever the number of lines, and the template does no queries at all.
"""

from __future__ import annotations

import base64
import mimetypes
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Prefetch, Sum

from billing.models import (
    BilledPeriod,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from billing.selectors.totals import (
    InvoiceTotals,
    credit_note_totals,
    invoice_totals,
)
from billspree.core.models import Organization
from billspree.core.timefmt import local_date
from meters.models import MeterAssignment, MeterType
from readings.models import MonthlyConsumption

#: Months in the consumption chart of an invoice statement.
CHART_MONTHS = 12
TYPE_LABELS = dict(MeterType.choices)


# --- invoice statement ---------------------------------------------------------------------


@dataclass
class ReadingRow:
    """One billed stretch of a meter: the two register readings and what was used."""

    start_at: datetime
    start_value: Decimal | None
    end_at: datetime
    end_value: Decimal | None
    quantity: Decimal
    estimated: bool
    #: which value is not a reading (interpolated or estimated: the "E" mark), the readings
    #: it came from, and why end − start is not the quantity where it is not (rollover)
    start_flag: bool = False
    end_flag: bool = False
    start_from: list = field(default_factory=list)
    end_from: list = field(default_factory=list)
    note: str = ""


def points(sources) -> list[tuple[datetime, Decimal]]:
    return [(datetime.fromisoformat(x["read_at"]), Decimal(x["value"])) for x in sources or []]


@dataclass
class MeterBlock:
    """A meter on the statement: its readings, its consumption and the charges it caused."""

    serial_number: str
    label: str
    type: str
    type_label: str
    unit: str
    multiplier: Decimal
    readings: list[ReadingRow] = field(default_factory=list)
    lines: list[InvoiceLine] = field(default_factory=list)

    @property
    def consumption(self) -> Decimal:
        return sum((r.quantity for r in self.readings), Decimal(0))

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def estimated(self) -> bool:
        return any(r.estimated for r in self.readings)


@dataclass
class TaxRow:
    rate: Decimal
    net: Decimal
    tax: Decimal


@dataclass
class ChartSeries:
    """Monthly consumption of one meter type at the billing point (oldest first)."""

    type: str
    type_label: str
    unit: str
    months: list[date]
    values: list[Decimal | None]
    current: list[bool]


@dataclass
class InvoiceStatementData:
    organization: Organization
    logo_data_uri: str
    invoice: Invoice
    tz: Any
    issued_on: date | None
    due_on: date | None
    period_first: date
    period_last: date
    meters: list[MeterBlock]
    other_lines: list[InvoiceLine]
    taxes: list[TaxRow]
    totals: InvoiceTotals
    any_estimated: bool
    charts: list[ChartSeries]
    line_count: int
    credit_note: str = ""  # the number of the credit note that cancelled a void invoice


def logo_data_uri(org: Organization) -> str:
    """The organization's logo inlined (``data:`` URI), so the PDF renderer never fetches
    a URL and the logo works whatever storage holds it; empty without a logo."""
    if not org.logo:
        return ""
    try:
        return _logo_data_uri(org.logo.name)
    except OSError:  # a missing file prints no logo (and is not cached: it may come back)
        return ""


@lru_cache(maxsize=32)
def _logo_data_uri(name: str) -> str:
    """Cached by storage name: a bill run renders thousands of PDFs with one logo, and
    with S3 storage each read would be a request. Safe because a logo is never rewritten
    under its name (a new upload gets a new random name, see ``logo_path``)."""
    from billspree.core.files import uploads_storage

    with uploads_storage().open(name, "rb") as fh:
        raw = fh.read()
    kind = mimetypes.guess_type(name)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(raw).decode()}"


def due_on(issued_on: date | None, org: Organization) -> date | None:
    """The due date printed on an invoice (and shown in the tenant portal): the local issue
    date plus the organization's payment terms."""
    return issued_on + timedelta(days=org.payment_terms_days) if issued_on else None


def _statement_lines():
    return InvoiceLine.objects.order_by("position", "pk")


def _statement_periods():
    return (BilledPeriod.objects.select_related("meter")
            .order_by("meter__type", "meter__serial_number", "start_at"))


def _meter_blocks(invoice: Invoice, lines: list[InvoiceLine]) -> list[MeterBlock]:
    periods = getattr(invoice, "statement_periods", None)
    if periods is None:
        periods = _statement_periods().filter(invoice=invoice)
    blocks: dict[int, MeterBlock] = {}
    traced = {ln.billed_period_id: ln for ln in lines if ln.billed_period_id}
    for p in periods:
        m = p.meter
        block = blocks.setdefault(m.pk, MeterBlock(
            m.serial_number, m.label, m.type, TYPE_LABELS.get(m.type, m.type), m.unit,
            m.multiplier))
        end_at, end_value = p.end_read_at or p.end_at, p.end_value
        line = traced.get(p.pk)
        untraced = line is None or not line.start_basis
        if untraced and p.estimated and p.start_value is not None and m.multiplier:
            # periods of before the trace kept the last reading as the end: the register as
            # estimated at the period end, so start + consumption adds up. Traced periods
            # keep the value used (wrapped at a rollover), shown as it is.
            end_at, end_value = p.end_at, p.start_value + p.quantity / m.multiplier
        row = ReadingRow(p.start_read_at or p.start_at, p.start_value, end_at, end_value,
                         p.quantity, p.estimated, end_flag=p.estimated)
        if not untraced:  # traced lines (not those of before)
            row.start_flag = line.start_basis != "read"
            row.end_flag = line.end_basis != "read"
            row.start_from = points(line.start_sources) if row.start_flag else []
            row.end_from = points(line.end_sources) if row.end_flag else []
            row.note = line.quantity_note
        block.readings.append(row)
    for line in lines:
        if line.meter_id in blocks:
            blocks[line.meter_id].lines.append(line)
    return list(blocks.values())


def _month_add(d: date, months: int) -> date:
    n = d.year * 12 + d.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)


def _chart_months(invoice: Invoice, tz) -> list[date]:
    """The first days of the ``CHART_MONTHS`` local months ending with the invoice's last."""
    last_month = (local_date(invoice.period_end, tz) - timedelta(days=1)).replace(day=1)
    return [_month_add(last_month, -i) for i in range(CHART_MONTHS - 1, -1, -1)]


def _chart_rollups_attach(invoices: list[Invoice]) -> None:
    """Set ``statement_chart`` ({(meter type, month): quantity} of every meter ever at the
    invoice's billing point) on each invoice of a group, in two queries for the group:
    the billing points' meters, then their monthly rollups over the group's months."""
    if not invoices:
        return
    windows = [_chart_months(inv, inv.billing_point.property.time_zone) for inv in invoices]
    meters_of: dict[int, set[int]] = defaultdict(set)
    for point_id, meter_id in (MeterAssignment.objects
                               .filter(billing_point_id__in={i.billing_point_id
                                                             for i in invoices})
                               .values_list("billing_point_id", "meter_id").distinct()):
        meters_of[point_id].add(meter_id)
    by_meter: dict[int, list[tuple[str, date, Decimal]]] = defaultdict(list)
    for meter_id, kind, month, quantity in (
            MonthlyConsumption.objects
            .filter(meter_id__in={m for ms in meters_of.values() for m in ms},
                    month__gte=min(w[0] for w in windows),
                    month__lte=max(w[-1] for w in windows))
            .values_list("meter_id", "meter__type", "month", "quantity")):
        by_meter[meter_id].append((kind, month, quantity))
    for inv, months in zip(invoices, windows, strict=True):
        chart: dict[tuple[str, date], Decimal] = {}
        for meter_id in meters_of[inv.billing_point_id]:
            for kind, month, quantity in by_meter[meter_id]:
                if months[0] <= month <= months[-1]:
                    chart[(kind, month)] = chart.get((kind, month), Decimal(0)) + quantity
        inv.statement_chart = chart


def _charts(invoice: Invoice, blocks: list[MeterBlock], tz) -> list[ChartSeries]:
    """The last ``CHART_MONTHS`` local months up to the invoice period, per meter type of
    the billing point, from the monthly rollups (one query); the months of the invoice's
    own period show what this invoice billed, so the highlighted bar matches the bill."""
    if not blocks:
        return []
    first_period = local_date(invoice.period_start, tz).replace(day=1)
    months = _chart_months(invoice, tz)
    found = getattr(invoice, "statement_chart", None)
    if found is None:
        meter_ids = MeterAssignment.objects.filter(billing_point_id=invoice.billing_point_id)
        rows = (MonthlyConsumption.objects
                .filter(meter_id__in=meter_ids.values("meter_id"), month__gte=months[0],
                        month__lte=months[-1])
                .values_list("meter__type", "month").annotate(q=Sum("quantity")))
        found = {(t, m): q for t, m, q in rows}
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for b in blocks:
        billed[b.type] += b.consumption
    out = []
    for kind in sorted(billed, key=lambda k: list(TYPE_LABELS).index(k) if k in TYPE_LABELS
                       else 99):
        unit = next(b.unit for b in blocks if b.type == kind)
        current = [first_period <= m <= months[-1] for m in months]
        values: list[Decimal | None] = [found.get((kind, m)) for m in months]
        if sum(current) == 1:  # a monthly bill: its bar is exactly what was billed
            values[current.index(True)] = billed[kind]
        out.append(ChartSeries(kind, TYPE_LABELS.get(kind, kind), unit, months, values,
                               current))
    return out


#: What a statement prints of an invoice's relations. Callers that load invoices for
#: statements (the generation task, a group at a time) select these, and the selector then
#: reuses the instance instead of reading the invoice again: a query fewer per PDF.
STATEMENT_RELATED = ("tenant", "billing_point__property", "organization")


def invoices_for_statements(invoice_ids: Iterable[int]) -> list[Invoice]:
    """A group of invoices loaded for their statements: the relations a statement prints
    selected, the lines, billed periods and chart rollups loaded, five queries for the whole
    group (the generation task renders up to 200 at a time). A PDF then reads nothing but
    its statement row."""
    invoices = list(
        Invoice.objects.filter(pk__in=list(invoice_ids)).select_related(*STATEMENT_RELATED)
        .prefetch_related(
            Prefetch("lines", queryset=_statement_lines(), to_attr="statement_lines"),
            Prefetch("billed_periods", queryset=_statement_periods(),
                     to_attr="statement_periods"))
        .order_by("pk"))
    _chart_rollups_attach(invoices)
    return invoices


def _related_loaded(invoice: Invoice) -> bool:
    state = invoice._state.fields_cache
    point = state.get("billing_point")
    return ("tenant" in state and "organization" in state and point is not None
            and "property" in point._state.fields_cache)


def invoice_statement_data(*, invoice: Invoice) -> InvoiceStatementData:
    """Everything the PDF of ``invoice`` prints, in a fixed number of queries."""
    inv = invoice if _related_loaded(invoice) else (
        Invoice.objects.select_related(*STATEMENT_RELATED).get(pk=invoice.pk))
    tz = inv.billing_point.property.time_zone
    org = inv.organization
    lines = getattr(inv, "statement_lines", None)
    if lines is None:
        lines = list(_statement_lines().filter(invoice=inv))
    for line in lines:  # printed as inclusive local dates, as people read a bill
        line.first_day = local_date(line.start_at, tz)
        line.last_day = local_date(line.end_at - timedelta(microseconds=1), tz) \
            if line.end_at else None
    blocks = _meter_blocks(inv, lines)
    metered = {id(line) for b in blocks for line in b.lines}
    totals = invoice_totals(inv, lines)
    issued_on = local_date(inv.issued_at, tz)
    return InvoiceStatementData(
        organization=org, logo_data_uri=logo_data_uri(org), invoice=inv, tz=tz,
        issued_on=issued_on,
        due_on=due_on(issued_on, org),
        period_first=local_date(inv.period_start, tz),
        period_last=local_date(inv.period_end, tz) - timedelta(days=1),
        meters=blocks, other_lines=[ln for ln in lines if id(ln) not in metered
                                    and ln.kind != LineKind.ROUNDING],
        taxes=[TaxRow(r.rate, r.base, r.vat) for r in totals.vat_summary], totals=totals,
        any_estimated=any(b.estimated for b in blocks) or any(ln.estimated for ln in lines),
        charts=_charts(inv, blocks, tz), line_count=len(lines),
        credit_note=(inv.credit_notes.values_list("number", flat=True).first() or "")
        if inv.status == InvoiceStatus.VOID else "",
    )


@dataclass
class CreditNoteStatementData:
    organization: Organization
    logo_data_uri: str
    note: CreditNote
    invoice: Invoice
    issued_on: date
    invoice_issued_on: date | None
    lines: list[CreditNoteLine]
    taxes: list[TaxRow]
    credited: Decimal  # what the tenant gets back: the note's totals are negative
    #: net + VAT per rate + cash rounding = total, as on the invoices
    totals: InvoiceTotals | None = None


def credit_note_statement_data(*, credit_note: CreditNote) -> CreditNoteStatementData:
    """Everything the PDF of a credit note prints: the document a tenant keeps next to the
    invoice it cancels (it refers to it by number and date)."""
    note = CreditNote.objects.select_related(
        "organization", "invoice__tenant", "invoice__billing_point__property"
    ).get(pk=credit_note.pk)
    tz = note.invoice.billing_point.property.time_zone
    lines = list(CreditNoteLine.objects.filter(credit_note=note)
                 .select_related("invoice_line").order_by("position", "pk"))
    totals = credit_note_totals(note, lines)
    return CreditNoteStatementData(
        organization=note.organization, logo_data_uri=logo_data_uri(note.organization),
        note=note, invoice=note.invoice, issued_on=local_date(note.issued_at, tz),
        invoice_issued_on=local_date(note.invoice.issued_at, tz), lines=lines,
        taxes=[TaxRow(r.rate, r.base, r.vat) for r in totals.vat_summary], credited=-note.total,
        totals=totals,
    )
