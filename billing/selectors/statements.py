"""Read queries of statements: everything printed on an invoice's PDF, and the statement of
building charges of a property and period.

Why a selector builds plain dataclasses rather than handing models to the template: the PDF
is rendered in the background for thousands of invoices, so the data of one statement is
loaded in a fixed, small number of queries (invoice, lines, billed periods, meters, the
chart's rollups) whatever the number of lines, and the template does no queries at all.
"""

from __future__ import annotations

import base64
import mimetypes
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

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
    legacy_rounding,
)
from billspree.core.models import Organization
from billspree.core.timefmt import local_date, local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from readings.models import MonthlyConsumption
from readings.selectors import Consumption, meter_consumption, segment_consumption
from tenants.selectors import occupants_for_billing_points

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


def _meter_blocks(invoice: Invoice, lines: list[InvoiceLine]) -> list[MeterBlock]:
    periods = (BilledPeriod.objects.filter(invoice=invoice)
               .select_related("meter").order_by("meter__type", "meter__serial_number",
                                                 "start_at"))
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


def _charts(invoice: Invoice, blocks: list[MeterBlock], tz) -> list[ChartSeries]:
    """The last ``CHART_MONTHS`` local months up to the invoice period, per meter type of
    the billing point, from the monthly rollups (one query); the months of the invoice's
    own period show what this invoice billed, so the highlighted bar matches the bill."""
    if not blocks:
        return []
    first_period = local_date(invoice.period_start, tz).replace(day=1)
    last_month = (local_date(invoice.period_end, tz) - timedelta(days=1)).replace(day=1)
    months = [_month_add(last_month, -i) for i in range(CHART_MONTHS - 1, -1, -1)]
    meter_ids = MeterAssignment.objects.filter(billing_point_id=invoice.billing_point_id)
    rows = (MonthlyConsumption.objects
            .filter(meter_id__in=meter_ids.values("meter_id"), month__gte=months[0],
                    month__lte=months[-1])
            .values_list("meter__type", "month").annotate(q=Sum("quantity")))
    found: dict[tuple[str, date], Decimal] = {(t, m): q for t, m, q in rows}
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for b in blocks:
        billed[b.type] += b.consumption
    out = []
    for kind in sorted(billed, key=lambda k: list(TYPE_LABELS).index(k) if k in TYPE_LABELS
                       else 99):
        unit = next(b.unit for b in blocks if b.type == kind)
        current = [first_period <= m <= last_month for m in months]
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
    lines = list(InvoiceLine.objects.filter(invoice=inv).order_by("position", "pk"))
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


# --- statement of building charges ---------------------------------------------------------


@dataclass
class PointRow:
    """One billing point of the building over the period."""

    name: str
    kind: str
    tenants: list[str]
    consumption: dict[str, Decimal | None]  # meter type → quantity
    estimated: bool
    amounts: dict[str, Decimal]  # meter type ("" = fixed charges) → net amount
    net: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    #: net + tax + cash_rounding = total, as on each invoice
    cash_rounding: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    #: the two dicts as lists in the column order of the statement (templates index nothing)
    consumption_cells: list[Decimal | None] = field(default_factory=list)
    amount_cells: list[Decimal | None] = field(default_factory=list)
    #: meter types whose consumption has a boundary that was not read (the "E" mark)
    estimated_kinds: set[str] = field(default_factory=set)
    estimated_cells: list[bool] = field(default_factory=list)

    @property
    def consumption_rows(self) -> list[tuple[Decimal | None, bool]]:
        """(quantity, estimated) per meter-type column."""
        return list(zip(self.consumption_cells, self.estimated_cells, strict=True))


@dataclass
class MainMeterRow:
    """A main meter against the sum of its sub-meters: the difference is losses and
    unmetered common use."""

    serial_number: str
    label: str
    type_label: str
    unit: str
    main: Decimal | None
    subs: Decimal | None
    sub_count: int
    estimated: bool

    @property
    def difference(self) -> Decimal | None:
        if self.main is None or self.subs is None:
            return None
        return self.main - self.subs

    @property
    def percent(self) -> Decimal | None:
        if self.difference is None or not self.main:
            return None
        return (self.difference * 100 / self.main).quantize(Decimal("0.1"))


@dataclass
class VacancyRow:
    billing_point: str
    owner: str
    start: date
    end: date  # exclusive
    days: int
    net: Decimal
    total: Decimal
    invoiced: bool = True  # False: no issued invoice of the owner covers it (yet)

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)


@dataclass
class BuildingStatementData:
    organization: Organization
    logo_data_uri: str
    property: Property
    currency: str
    period_start: date
    period_end: date  # exclusive
    period_last: date
    types: list[tuple[str, str, str]]  # (type, label, unit) present in the building
    points: list[PointRow]
    consumption_totals: list[Decimal]
    amount_types: list[tuple[str, str]]
    amount_totals: list[Decimal]
    net: Decimal
    tax: Decimal
    cash_rounding: Decimal
    total: Decimal
    main_meters: list[MainMeterRow]
    vacancies: list[VacancyRow]
    vacancy_net: Decimal
    vacancy_total: Decimal
    invoice_count: int
    generated_at: datetime
    uninvoiced: int = 0  # billing points without an issued invoice in the period

    @property
    def any_estimated(self) -> bool:
        return any(p.estimated for p in self.points)


def _building_invoices(points: list[BillingPoint], start: datetime, end: datetime):
    """Issued and paid invoices of these billing points whose period lies in [start, end)."""
    return list(Invoice.objects.filter(
        billing_point__in=points, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID],
        period_start__gte=start, period_end__lte=end,
    ).select_related("tenant"))


def _mains(points: list[BillingPoint]) -> list[Meter]:
    """Main meters of the building: meters with sub-meters that are (or whose sub-meters
    are) connected to one of its billing points."""
    in_building = Meter.objects.filter(assignments__billing_point__in=points).distinct()
    return list(Meter.objects.filter(
        Q(pk__in=in_building.values("pk")) | Q(sub_meters__in=in_building.values("pk")),
        sub_meters__isnull=False,
    ).distinct().order_by("type", "serial_number"))


def _point_consumption(points: list[BillingPoint], mains: list[Meter], start: datetime,
                       end: datetime) -> dict[tuple[int, str], Consumption]:
    """Consumption per (billing point, meter type) of the meters that are not main meters:
    a main meter measures the sub-meters again, so counting it would bill twice in the
    totals; it is reported against its sub-meters instead."""
    assignments = (MeterAssignment.objects.filter(billing_point__in=points)
                   .exclude(meter_id__in=[m.pk for m in mains]))
    out: dict[tuple[int, str], Consumption] = {}
    for segment, result in segment_consumption(assignments, start, end):
        key = (segment.assignment.billing_point_id, segment.meter.type)
        out.setdefault(key, Consumption(start, end, unit=segment.meter.unit)).add(result)
    return out


def _main_meters(mains: list[Meter], start: datetime, end: datetime) -> list[MainMeterRow]:
    if not mains:
        return []
    subs = list(Meter.objects.filter(parent__in=mains).values_list("pk", "parent_id"))
    used = meter_consumption(meter_ids=[m.pk for m in mains] + [s for s, _ in subs],
                             start=start, end=end)
    rows = []
    for m in mains:
        mine = [used[s] for s, parent in subs if parent == m.pk]
        total: Decimal | None = Decimal(0)
        for c in mine:
            total = None if total is None or c.quantity is None else total + c.quantity
        rows.append(MainMeterRow(m.serial_number, m.label, TYPE_LABELS.get(m.type, m.type),
                                 m.unit, used[m.pk].quantity, total, len(mine),
                                 used[m.pk].flagged or any(c.flagged for c in mine)))
    return rows


def _vacancies(points, start, end, invoices, tz) -> list[VacancyRow]:
    """Vacant stretches (owner billed) and what the owner's invoices for them came to (their
    net without the old rounding lines: net + VAT + cash rounding = total)."""
    legacy = legacy_rounding(i.pk for i in invoices)
    names = {p.pk: p.name for p in points if p.kind != BillingPoint.Kind.COMMON_AREA}
    rows = []
    if not names:  # common areas are the owner's by nature, not vacant flats
        return rows
    for bp, segments in occupants_for_billing_points(names, start, end).items():
        for seg in segments:
            if not seg.is_vacancy:
                continue
            owner_id = seg.tenant.pk if seg.tenant else None
            charged = [i for i in invoices if i.billing_point_id == bp
                       and i.tenant_id == owner_id and i.period_start < seg.end
                       and seg.start < i.period_end]
            first, last = local_date(seg.start, tz), local_date(seg.end, tz)
            rows.append(VacancyRow(names[bp], seg.tenant.name if seg.tenant else "no owner "
                                   "recorded", first, last, (last - first).days,
                                   sum((i.net_total - legacy.get(i.pk, Decimal(0))
                                        for i in charged), Decimal(0)),
                                   sum((i.total for i in charged), Decimal(0)),
                                   bool(charged)))
    return sorted(rows, key=lambda r: (r.billing_point, r.start))


def building_statement_data(*, property: Property, period_start: date,
                            period_end: date) -> BuildingStatementData:
    """The statement of building charges of ``property`` over local dates
    [period_start, period_end): per billing point its tenants, measured consumption per
    meter type and invoiced amounts per meter type; main meters against their sub-meters;
    vacancy billed to the owner, shown apart."""
    tz = property.time_zone
    start, end = local_midnight(period_start, tz), local_midnight(period_end, tz)
    points = list(BillingPoint.objects.filter(property=property).order_by("name"))
    invoices = _building_invoices(points, start, end)
    lines = (InvoiceLine.objects.filter(invoice__in=[i.pk for i in invoices])
             .values_list("invoice_id", "meter_type", "kind").annotate(net=Sum("amount")))
    mains = _mains(points)
    used = _point_consumption(points, mains, start, end)
    inv_by_id = {i.pk: i for i in invoices}
    rows = {p.pk: PointRow(p.name, p.get_kind_display(), [], {}, False, {}) for p in points}
    for inv in invoices:
        row = rows[inv.billing_point_id]
        if inv.tenant.name not in row.tenants:
            row.tenants.append(inv.tenant.name)
        row.net += inv.net_total
        row.tax += inv.tax_total
        row.cash_rounding += inv.cash_rounding
        row.total += inv.total
    for invoice_id, kind, line_kind, net in lines:
        row = rows[inv_by_id[invoice_id].billing_point_id]
        if line_kind == LineKind.ROUNDING:  # invoices of before: cash rounding as a line
            row.net -= net
            row.cash_rounding += net
            continue
        row.amounts[kind] = row.amounts.get(kind, Decimal(0)) + net
    units: dict[str, str] = {}
    for (bp, kind), c in used.items():
        rows[bp].consumption[kind] = c.quantity
        # as invoices flag it: a boundary interpolated or estimated, not only extrapolated
        rows[bp].estimated |= c.flagged
        if c.flagged:
            rows[bp].estimated_kinds.add(kind)
        units.setdefault(kind, c.unit)
    order = list(TYPE_LABELS)
    types = [(k, TYPE_LABELS.get(k, k), units[k])
             for k in sorted(units, key=lambda k: order.index(k) if k in order else 99)]
    amount_kinds = sorted({k for r in rows.values() for k in r.amounts},
                          key=lambda k: (k == "", order.index(k) if k in order else 99))
    vacancies = _vacancies(points, start, end, invoices, tz)
    org = property.organization
    point_rows = list(rows.values())
    for r in point_rows:
        r.consumption_cells = [r.consumption.get(k) for k, _, _ in types]
        r.estimated_cells = [k in r.estimated_kinds for k, _, _ in types]
        r.amount_cells = [r.amounts.get(k) for k in amount_kinds]

    def total(attr: str, key: str) -> Decimal:
        return sum((getattr(r, attr).get(key) or Decimal(0) for r in point_rows), Decimal(0))

    return BuildingStatementData(
        organization=org, logo_data_uri=logo_data_uri(org), property=property,
        currency=str(property.currency), period_start=period_start, period_end=period_end,
        period_last=period_end - timedelta(days=1), types=types, points=point_rows,
        consumption_totals=[total("consumption", k) for k, _, _ in types],
        amount_types=[(k, TYPE_LABELS.get(k, k) if k else "Fixed charges")
                      for k in amount_kinds],
        amount_totals=[total("amounts", k) for k in amount_kinds],
        net=sum((r.net for r in point_rows), Decimal(0)),
        tax=sum((r.tax for r in point_rows), Decimal(0)),
        cash_rounding=sum((r.cash_rounding for r in point_rows), Decimal(0)),
        total=sum((r.total for r in point_rows), Decimal(0)),
        main_meters=_main_meters(mains, start, end), vacancies=vacancies,
        vacancy_net=sum((v.net for v in vacancies), Decimal(0)),
        vacancy_total=sum((v.total for v in vacancies), Decimal(0)),
        invoice_count=len(invoices), generated_at=timezone.now(),
        uninvoiced=sum(1 for r in point_rows if not r.tenants),
    )
