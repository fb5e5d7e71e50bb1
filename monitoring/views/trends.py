"""The trends page: a selection's consumption over a period, per hour, day or month, against
a comparison period, as a chart and as a table that exports (thin: parse, select, shape)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.views.generic import TemplateView

from billspree.core import charts
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.timefmt import format_day, format_instant, format_month
from meters.models import BillingPoint, Meter, MeterType, Property
from monitoring.exports import ExportableMixin
from monitoring.selectors.trends import Trend, trend
from monitoring.tables import DATE, DATETIME, MONTH, NUMBER, PERCENT, Column, Table
from monitoring.trend_params import trend_params

RESOLUTION_LABELS = (("hour", "Hour"), ("day", "Day"), ("month", "Month"))
COMPARISON_LABELS = (("none", "No comparison"), ("previous", "Previous period"),
                     ("last_year", "Same period last year"))
KIND = {"hour": DATETIME, "day": DATE, "month": MONTH}


def trend_table(t: Trend) -> Table:
    """The trend's points as a report table (the page's table and the CSV export)."""
    kind = KIND[t.resolution]
    label = dict(RESOLUTION_LABELS)[t.resolution]
    columns = [Column("at", label, kind), Column("quantity", "Consumption", NUMBER, t.unit, 4)]
    if t.comparison != "none":
        columns += [Column("compare_at", f"Compared {label.lower()}", kind),
                    Column("compare_quantity", "Comparison", NUMBER, t.unit, 4),
                    Column("change", "Change", PERCENT, "%", 1)]
    rows = []
    for p in t.points:
        row = [p.at, p.quantity]
        if t.comparison != "none":
            row += [p.compare_at, p.compare_quantity, p.change_percent]
        rows.append(row)
    notes = [f"{format_day(t.first)} – {format_day(t.last)}"]
    if t.compare_first is not None:
        notes.append(f"Compared with {format_day(t.compare_first)} – {format_day(t.compare_last)}")
    return Table("trend", "Consumption trend", columns, rows, t.zone, notes)


def trend_chart(t: Trend, today: date) -> charts.Chart:
    """The chart of the trend: bars of the selection, the comparison as a muted line."""
    title, unit = "Consumption", t.unit or "kWh"
    xs = [p.at for p in t.points]
    if t.resolution == "hour":
        chart = charts.time_chart(id="trend-chart", title=title, unit=unit, instants=xs,
                                  zone=t.zone)
    elif t.resolution == "day":
        chart = charts.day_chart(id="trend-chart", title=title, unit=unit, days=xs, today=today,
                                 zone=t.zone, tick_every=max(1, len(xs) // 8))
    else:
        chart = charts.month_chart(id="trend-chart", title=title, unit=unit, months=xs,
                                   today=today, zone=t.zone)
    chart.add(charts.Series(name="Selection", values=[p.quantity for p in t.points],
                            kind=charts.LINE if t.resolution == "hour" else charts.BAR,
                            notes=["" if p.quantity is not None else "no complete data"
                                   for p in t.points]))
    if t.comparison != "none":
        name = "Previous period" if t.comparison == "previous" else "A year earlier"
        chart.add(charts.Series(name=name, values=[p.compare_quantity for p in t.points],
                                kind=charts.LINE, compare=True,
                                notes=[_when(p.compare_at, t) for p in t.points]))
    return chart


def _when(at: date | datetime | None, t: Trend) -> str:
    if at is None:
        return ""
    if isinstance(at, datetime):
        return format_instant(at, t.zone)
    return format_month(at) if t.resolution == "month" else format_day(at)


def _cell(value, column: Column, zone) -> str:
    if value is None:
        return "—"
    if column.kind == DATETIME:  # with the zone's name: a DST day repeats an hour
        return format_instant(value, zone, zone_name=True)
    if column.kind == MONTH:
        return format_month(value)
    if column.kind == DATE:
        return format_day(value)
    if column.kind == PERCENT:
        return f"{value:+} %"
    return charts.format_quantity(value)


class TrendsView(ExportableMixin, OrganizationPortalMixin, TemplateView):
    """Consumption of any meters, billing points or properties over time."""

    template_name = "monitoring/trends.html"

    def query(self):
        query = self.request.GET.copy()
        if not query.get("from") and not query.get("to"):  # the last 30 days, per day
            today = organization_today(self.request)
            query.setdefault("from", (today - timedelta(days=30)).isoformat())
            query.setdefault("to", (today - timedelta(days=1)).isoformat())
        if "meter_type" not in query:
            query["meter_type"] = MeterType.ELECTRICITY
        return query

    def export_tables(self) -> list[Table]:
        return [trend_table(trend(**trend_params(self.query())))]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        query = self.query()
        result, errors = None, {}
        try:
            result = trend(**trend_params(query))
        except ValidationError as exc:
            errors = exc.message_dict
        table = trend_table(result) if result else None
        ctx.update(
            tab="trends", query=query, errors=errors, trend=result, table=table,
            chart=trend_chart(result, organization_today(self.request)) if result else None,
            cells=[[_cell(v, c, table.zone) for v, c in zip(row, table.columns, strict=True)]
                   for row in table.rows] if table else [],
            resolutions=RESOLUTION_LABELS, comparisons=COMPARISON_LABELS,
            meter_types=MeterType.choices,
            chosen={name: set(query.getlist(name)) for name in ("meter", "billing_point",
                                                               "property")},
            properties=Property.objects.order_by("name").values_list("public_id", "name"),
            billing_points=BillingPoint.objects.select_related("property")
            .order_by("property__name", "name").values_list("public_id", "name", "property__name"),
            meters=Meter.objects.order_by("serial_number").values_list("public_id",
                                                                       "serial_number", "label"),
            total=charts.format_quantity(result.total) if result else "",
            compare_total=charts.format_quantity(result.compare_total) if result else "",
        )
        return ctx
