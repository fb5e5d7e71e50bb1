"""Portal pages of the load analysis and the extremum report (thin: parse the query, call
the selector, build the :class:`~monitoring.tables.Table` the page and the CSV share)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.views.generic import TemplateView

from billspree.core import charts
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.timefmt import format_day, format_days, format_instant
from meters.models import Meter, MeterType, Property
from monitoring.exports import ExportableMixin
from monitoring.load_params import extremes_params, load_params
from monitoring.selectors.extremes import ExtremesReport, extremes
from monitoring.selectors.load import LoadReport, load_analysis
from monitoring.tables import DATE, DATETIME, NUMBER, PERCENT, Column, Table
from readings.measurements.models import Quantity

LOAD_COLUMNS = (
    Column("meter", "Meter"), Column("day", "Day", DATE),
    Column("peak_kw", "Peak", NUMBER, "kW", 3), Column("peak_at", "Peak at", DATETIME),
    Column("average_kw", "Average", NUMBER, "kW", 3),
    Column("capacity_kw", "Rated capacity", NUMBER, "kW", 3),
    Column("peak_percent", "Peak of capacity", PERCENT, "%", 1),
    Column("hours_above", "Hours above 80 %", NUMBER, "h", 2),
)
EXTREME_COLUMNS = (
    Column("property", "Property"), Column("device", "Device"), Column("kind", "Kind"),
    Column("quantity", "Quantity"), Column("unit", "Unit"),
    Column("maximum", "Maximum", NUMBER), Column("max_at", "Maximum at", DATETIME),
    Column("minimum", "Minimum", NUMBER), Column("min_at", "Minimum at", DATETIME),
)
#: The page shows a table per meter: its name and capacity are in the heading.
PAGE_COLUMNS = tuple(c for c in LOAD_COLUMNS if c.key not in ("meter", "capacity_kw"))
QUANTITY_LABELS = dict(Quantity.choices)


def _default_week(request, query) -> None:
    if not query.get("from") and not query.get("to"):
        today = organization_today(request)
        query.update({"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()})


def _one_zone(zones: list[ZoneInfo], fallback) -> ZoneInfo:
    """The table's zone: the devices' one zone, else the organization's."""
    keys = {z.key for z in zones}
    return zones[0] if len(keys) == 1 else ZoneInfo(str(fallback))


class _Page(ExportableMixin, OrganizationPortalMixin, TemplateView):
    selector: Any = None
    parser: Any = None

    def run(self) -> tuple[dict, Any, dict]:
        query = self.request.GET.copy()
        _default_week(self.request, query)
        try:
            return query, type(self).selector(**type(self).parser(query)), {}
        except ValidationError as exc:
            return query, None, exc.message_dict

    def export_tables(self) -> list[Table]:
        query, report, errors = self.run()
        if errors:
            raise ValidationError(errors)
        return [self.table(report)]

    def table(self, report) -> Table:  # pragma: no cover - each page implements it
        raise NotImplementedError


def _cell(value: Any, column: Column, zone) -> str:
    if value is None:
        return "—"
    if column.kind == DATETIME:
        return format_instant(value, zone, zone_name=True)
    if column.kind == DATE:
        return format_day(value)
    if column.kind in (NUMBER, PERCENT) and column.digits is not None:
        return f"{Decimal(value):,.{column.digits}f}"
    return str(value)


class LoadView(_Page):
    """Each meter's daily peak and average power against its rated capacity."""

    template_name = "monitoring/load.html"
    selector = staticmethod(load_analysis)
    parser = staticmethod(load_params)

    def table(self, report: LoadReport) -> Table:
        zone = _one_zone([m.zone for m in report.meters], self.request.organization.time_zone)
        rows = [(m.meter.name, d.day, d.peak_kw, d.peak_at, d.average_kw, m.capacity_kw,
                 d.peak_percent, d.hours_above) for m in report.meters for d in m.days]
        return Table("load", "Load per day", LOAD_COLUMNS, rows, zone,
                     notes=[format_days(report.first, report.last)])

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        query, report, errors = self.run()
        meters = []
        if report is not None:
            today = organization_today(self.request)
            for m in report.meters:
                meters.append({
                    "load": m, "edit_url": reverse("meters:meter_edit", kwargs={"id": m.meter.id}),
                    "chart": _load_chart(m, report, today),
                    "rows": [[_cell(v, c, m.zone) for v, c in zip(
                        (d.day, d.peak_kw, d.peak_at, d.average_kw, d.peak_percent,
                         d.hours_above), PAGE_COLUMNS, strict=True)] for d in m.days],
                })
        ctx.update(
            tab="load", query=query, errors=errors, report=report, meters=meters,
            headers=[c.heading for c in PAGE_COLUMNS],
            period=format_days(report.first, report.last) if report else "",
            properties=Property.objects.order_by("name").values_list("public_id", "name"),
            meter_choices=Meter.objects.filter(type=MeterType.ELECTRICITY).order_by(
                "serial_number").values_list("public_id", "serial_number"),
        )
        return ctx


def _load_chart(m, report: LoadReport, today: date) -> charts.Chart:
    days = [d.day for d in m.days]
    chart = charts.day_chart(id=f"load-{m.meter.id}", title=f"{m.meter.name}: daily peak",
                             unit="kW", days=days, today=today, zone=m.zone,
                             tick_every=max(1, len(days) // 8))
    chart.add(charts.Series(name="Daily peak", values=[d.peak_kw for d in m.days]))
    chart.add(charts.Series(name="Average", kind=charts.LINE,
                            values=[d.average_kw for d in m.days]))
    if m.capacity_kw is not None:
        chart.add(charts.Series(name="Rated capacity", kind=charts.LINE, compare=True,
                                values=[m.capacity_kw] * len(days)))
    return chart


class ExtremesView(_Page):
    """Maximum and minimum of every measured quantity of every device, with their times."""

    template_name = "monitoring/extremes.html"
    selector = staticmethod(extremes)
    parser = staticmethod(extremes_params)

    def table(self, report: ExtremesReport) -> Table:
        zone = _one_zone([r.zone for r in report.rows], self.request.organization.time_zone)
        return Table("extremes", "Extremes", EXTREME_COLUMNS,
                     [_extreme_values(r) for r in report.rows], zone,
                     notes=[format_days(report.first, report.last)])

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        query, report, errors = self.run()
        rows = []
        if report is not None:
            for r in report.rows:
                values = _extreme_values(r)
                values[3] = QUANTITY_LABELS.get(r.quantity, r.quantity)
                rows.append([_cell(v, c, r.zone) for v, c in
                             zip(values, EXTREME_COLUMNS, strict=True)])
        ctx.update(
            tab="extremes", query=query, errors=errors, report=report, rows=rows,
            headers=[c.label for c in EXTREME_COLUMNS],
            period=format_days(report.first, report.last) if report else "",
            properties=Property.objects.order_by("name").values_list("public_id", "name"),
            quantities=Quantity.choices,
        )
        return ctx


def _extreme_values(r) -> list[Any]:
    return [r.property.name if r.property else "", r.device.name, r.kind, r.quantity, r.unit,
            _number(r.maximum), r.max_at, _number(r.minimum), r.min_at]


def _number(value: float) -> Decimal:
    """A measured double as the shortest decimal that reads back as it (``16.25``)."""
    return Decimal(repr(value)).normalize()
