"""The statement of building charges of a property and period: each billing point's
consumption and charges, the main meters against the sum of their sub-meters (losses), and
vacant periods billed to the owner, loaded for the whole building in a fixed number of
queries."""


from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from billing.selectors.statements import TYPE_LABELS, logo_data_uri
from billing.selectors.totals import legacy_rounding
from billspree.core.models import Organization
from billspree.core.timefmt import local_date, local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment, Property
from readings import losses
from readings.selectors import Consumption, meter_consumption, segment_consumption
from tenants.selectors import occupants_for_billing_points


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
        return losses.loss(self.main, self.subs)  # as the loss pages compute it

    @property
    def percent(self) -> Decimal | None:
        return losses.loss_percent(self.main, self.subs)


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
    subs = losses.sub_meters(m.pk for m in mains)
    used = meter_consumption(meter_ids=[m.pk for m in mains] + [s for ids in subs.values()
                                                                for s in ids],
                             start=start, end=end)
    rows = []
    for m in mains:
        mine = [used[s] for s in subs[m.pk]]
        rows.append(MainMeterRow(m.serial_number, m.label, TYPE_LABELS.get(m.type, m.type),
                                 m.unit, used[m.pk].quantity,
                                 losses.total(c.quantity for c in mine), len(mine),
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
