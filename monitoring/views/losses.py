"""Loss analysis pages: every main meter's loss over a period, and one main meter's
periods, energy flow (Sankey) and common-area allocation. Thin: parse, select, shape;
the tables are :class:`monitoring.tables.Table` so the CSV export writes the same rows."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import Http404
from django.views.generic import TemplateView

from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.timefmt import format_day, format_instant, format_month
from meters.models import Meter
from monitoring.exports import ExportableMixin
from monitoring.loss_params import loss_params
from monitoring.sankey import sankey
from monitoring.selectors.losses import GRAINS, LossReport, MainLoss, loss_report
from monitoring.tables import DATE, DATETIME, MONTH, NUMBER, PERCENT, Column, Table

SORTS = ("percent", "-percent", "meter", "loss", "-loss")


def list_table(report: LossReport, zone: ZoneInfo, unit: str = "kWh") -> Table:
    cols = [Column("meter", "Main meter"), Column("property", "Property"),
            Column("subs_count", "Sub-meters", NUMBER, digits=0),
            Column("main", "Main meter", NUMBER, unit, 3),
            Column("subs", "Sum of sub-meters", NUMBER, unit, 3),
            Column("loss", "Loss", NUMBER, unit, 3), Column("percent", "Loss", PERCENT, "%", 1),
            Column("incomplete", "Incomplete periods", NUMBER, digits=0)]
    rows = [[m.meter.name, m.property_name, m.sub_count,
             m.main_total if m.complete_periods else None,
             m.subs_total if m.complete_periods else None, m.loss, m.percent,
             m.incomplete_count] for m in report.mains]
    return Table("losses", "Main meters against their sub-meters", cols, rows, zone,
                 notes=[f"{report.first} – {report.last}, by {report.grain}. Totals count "
                        "complete periods only: a period where a meter lacks data is "
                        "incomplete, not loss."])


def periods_table(report: LossReport, main: MainLoss) -> Table:
    kind = {"hour": DATETIME, "day": DATE, "month": MONTH}[report.grain]
    u = main.unit
    cols = [Column("period", report.grain.capitalize(), kind),
            Column("main", "Main meter", NUMBER, u, 3),
            Column("subs", "Sum of sub-meters", NUMBER, u, 3),
            Column("loss", "Loss", NUMBER, u, 3), Column("percent", "Loss", PERCENT, "%", 1),
            Column("status", "Status"), Column("reason", "Why incomplete")]
    rows = [[p.key, p.main, p.subs if p.complete else None, p.loss, p.percent,
             "complete" if p.complete else "incomplete", p.reason] for p in main.periods]
    return Table("loss_periods", f"{main.meter.name} by {report.grain}", cols, rows, main.zone)


def allocation_table(main: MainLoss) -> Table:
    u = main.unit
    cols = [Column("billing_point", "Billing point"), Column("area", "Area", NUMBER, "m²", 2),
            Column("consumption", "Metered", NUMBER, u, 3),
            Column("by_area", "By area", NUMBER, u, 3),
            Column("by_consumption", "By consumption share", NUMBER, u, 3),
            Column("equally", "Equally", NUMBER, u, 3)]
    rows = [[a.billing_point, a.area_m2, a.consumption, a.by_area, a.by_consumption, a.equally]
            for a in main.allocations]
    return Table("loss_allocation", "Common-area use allocated", cols, rows, main.zone,
                 notes=[f"Common-area use {main.common_use} {u}: the unmetered remainder "
                        "plus sub-meters at common areas, complete periods only. Rounded "
                        "to 0.001 by largest remainder (ties in billing point order): each "
                        "column adds up to the whole."])


def cell(value, column: Column, org) -> str:
    """A value as the page shows it (exports write the raw value)."""
    if value is None:
        return ""
    if column.kind == DATETIME:
        return format_instant(value, org)
    if column.kind == DATE:
        return format_day(value)
    if column.kind == MONTH:
        return format_month(value)
    if column.kind in (NUMBER, PERCENT) and isinstance(value, Decimal | int | float):
        digits = column.digits if column.digits is not None else 3
        return f"{Decimal(value):,.{digits}f}"
    return str(value)


def rendered(table: Table, org) -> list[list[str]]:
    return [[cell(v, c, org) for v, c in zip(row, table.columns, strict=True)]
            for row in table.rows]


class _LossPage(OrganizationPortalMixin, ExportableMixin, TemplateView):
    main_id: int | None = None

    def report(self) -> LossReport:
        if not hasattr(self, "_report"):
            params = loss_params(self.request.GET, organization_today(self.request))
            if self.main_id is not None:
                params["main_id"] = self.main_id
            self._report = loss_report(**params, detail=self.main_id is not None)
        return self._report

    def base_context(self, ctx):
        report, errors = None, {}
        try:
            report = self.report()
        except ValidationError as exc:
            errors = exc.message_dict
        ctx.update(report=report, errors=errors, query=self.request.GET, grains=GRAINS,
                   tab="losses",
                   period=(format_day(report.first) + " – " + format_day(report.last))
                   if report else "")
        return report


class LossListView(_LossPage):
    """Every main meter's loss over the period, sortable by its share."""

    template_name = "monitoring/losses.html"

    def sorted_report(self) -> tuple[LossReport, str]:
        report = self.report()
        order = self.request.GET.get("sort") or "-percent"
        if order not in SORTS:
            raise ValidationError({"sort": [f"Unknown sort {order!r}: use any of "
                                            f"{', '.join(SORTS)}."]})
        key = order.lstrip("-")
        if key == "meter":
            report.mains.sort(key=lambda m: m.meter.serial_number)
        else:
            have = [m for m in report.mains if getattr(m, key) is not None]
            none = [m for m in report.mains if getattr(m, key) is None]
            have.sort(key=lambda m: getattr(m, key), reverse=order.startswith("-"))
            report.mains[:] = have + none  # unknown last either way
        return report, order

    def export_tables(self) -> list[Table]:
        report, _ = self.sorted_report()
        return [list_table(report, ZoneInfo(str(self.request.organization.time_zone)))]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        report = self.base_context(ctx)
        if report is None:
            return ctx
        try:
            _, order = self.sorted_report()
        except ValidationError as exc:
            ctx["errors"] = exc.message_dict
            return ctx
        table = list_table(report, ZoneInfo(str(self.request.organization.time_zone)))
        org = self.request.organization
        query = self.request.GET.copy()
        query["sort"] = "percent" if order == "-percent" else "-percent"
        ctx.update(table=table, order=order, percent_sort=query.urlencode(),
                   rows=list(zip(report.mains, rendered(table, org), strict=True)))
        return ctx


class LossDetailView(_LossPage):
    """One main meter: its periods, the energy flow, the common-area allocation."""

    template_name = "monitoring/loss_detail.html"
    model = Meter

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and getattr(request, "organization", None):
            found = (Meter.objects.filter(public_id=kwargs["public_id"], sub_meters__isnull=False)
                     .values_list("pk", flat=True).first())
            if found is None:
                raise Http404("No such main meter.")
            self.main_id = found
        return super().dispatch(request, *args, **kwargs)

    def export_tables(self) -> list[Table]:
        report = self.report()
        if not report.mains:
            return []
        main = report.mains[0]
        return [periods_table(report, main), allocation_table(main)]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        report = self.base_context(ctx)
        meter = Meter.objects.get(pk=self.main_id)
        ctx["meter"] = meter
        if report is None or not report.mains:
            return ctx
        org = self.request.organization
        main = report.mains[0]
        periods = periods_table(report, main)
        allocation = allocation_table(main)
        by_meter = [(u.meter.name, u.quantity) for u in main.subs_use]
        ctx.update(
            main=main, periods=periods, allocation=allocation,
            period_rows=list(zip(main.periods, rendered(periods, org), strict=True)),
            allocation_rows=rendered(allocation, org),
            totals=[cell(v, periods.column(k), org) for k, v in (
                ("main", main.main_total), ("subs", main.subs_total), ("loss", main.loss),
                ("percent", main.percent))],
            sankey=sankey(main.meter.name, main.unit, main.main_total, by_meter,
                          ctx["period"]) if main.complete_periods else None,
            common_use=cell(main.common_use, allocation.column("equally"), org),
        )
        return ctx
