"""The energy dashboard pages: the organization's (``/monitoring/``) and one property's
(``/monitoring/properties/<id>/``). Thin: read the month, call the selector, format cells."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView

from billspree.core import charts
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.timefmt import format_instant, format_month
from meters.models import MeterType, Property
from monitoring.dashboard_params import query_month
from monitoring.selectors.dashboard import (
    LAST,
    PERIODS,
    THIS,
    YEAR_AGO,
    Dashboard,
    add_months,
    energy_dashboard,
)

TYPE_LABELS = dict(MeterType.choices)
PERIOD_LABELS = {THIS: "This month", LAST: "Last month", YEAR_AGO: "Same month last year"}


@dataclass(frozen=True)
class Cell:
    text: str
    change: str = ""  # "+12.5 %" against this month, for the comparison columns


class EnergyDashboardView(OrganizationPortalMixin, TemplateView):
    """What the organization used this month against last month and a year ago, what it
    cost, who used most, per m², and which meters went quiet."""

    template_name = "monitoring/dashboard.html"

    def get_property(self) -> Property | None:
        return None

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        prop = self.get_property()
        errors: dict[str, list[str]] = {}
        try:
            month = query_month(self.request.GET)
        except ValidationError as exc:
            month, errors = None, exc.message_dict
        dash = energy_dashboard(property=prop, month=month)
        ctx.update(dashboard_context(dash, prop))
        ctx.update(errors=errors, tab="dashboard", month_value=f"{dash.month:%Y-%m}")
        return ctx


class PropertyDashboardView(EnergyDashboardView):
    """The same dashboard for one property (another organization's answers 404)."""

    model = Property

    def get_property(self) -> Property:
        return get_object_or_404(Property, public_id=self.kwargs["public_id"])


def dashboard_context(dash: Dashboard, prop: Property | None) -> dict:
    this = dash.periods[THIS]
    report_query = {"from": this.first.isoformat(), "to": this.last.isoformat()}
    if prop is not None:
        report_query["property"] = str(prop.public_id)
    urls = _Urls()
    return {
        "dash": dash,
        "property": prop,
        "periods": [(k, PERIOD_LABELS[k], _period_text(dash, k)) for k in PERIODS],
        "type_rows": [_type_row(t) for t in dash.types],
        "cost_rows": [_cost_row(c) for c in dash.costs],
        "charts": [_chart(dash, i, t) for i, t in enumerate(dash.types)],
        "top": [(TYPE_LABELS.get(t, t), unit, [_consumer(c, urls) for c in rows])
                for (t, unit), rows in dash.top.items()],
        "intensity": [(TYPE_LABELS.get(i.meter_type, i.meter_type), i.unit,
                       charts.format_quantity(i.value), charts.format_quantity(i.area_m2),
                       i.points) for i in dash.intensity],
        "quiet": [_quiet(q, urls) for q in dash.quiet],
        "report_url": _report_url(report_query, "property,meter_type"),
        "report_by_point_url": _report_url(report_query, "billing_point,meter_type"),
        "month_label": format_month(dash.month),
        "prev_month": _month_url(prop, dash, -1),
        "next_month": _month_url(prop, dash, 1) if dash.month < dash.today.replace(day=1)
        else "",
    }


def _period_text(dash: Dashboard, key: str) -> str:
    period = dash.periods[key]
    text = format_month(period.first)
    return f"{text}, so far" if period.so_far else text


def _change(value: Decimal | None, other: Decimal | None) -> str:
    """This month against another period, in percent of the other ("" where either is
    missing or the other is zero)."""
    if value is None or not other:
        return ""
    pct = (value - other) / other * 100
    return f"{pct:+.1f} %"


def _type_row(t) -> dict:
    this = t.quantities[THIS]
    return {
        "label": TYPE_LABELS.get(t.meter_type, t.meter_type), "type": t.meter_type,
        "unit": t.unit,
        "cells": [Cell(charts.format_quantity(t.quantities[k], t.unit) or "—",
                       "" if k == THIS else _change(this, t.quantities[k])) for k in PERIODS],
    }


def _cost_row(c) -> dict:
    label = ("Total" if c.meter_type is None
             else TYPE_LABELS.get(c.meter_type, c.meter_type or "Other charges"))
    this = c.amounts[THIS]
    return {
        "label": label, "total": c.meter_type is None, "currency": c.currency,
        "cells": [Cell("—" if c.amounts[k] is None else f"{c.amounts[k]:,.2f} {c.currency}",
                       "" if k == THIS else _change(this, c.amounts[k])) for k in PERIODS],
    }


def _chart(dash: Dashboard, i: int, t) -> charts.Chart:
    label = TYPE_LABELS.get(t.meter_type, t.meter_type)
    chart = charts.month_chart(
        id=f"dashboard-{t.meter_type}-{i}", title=f"{label} by month", unit=t.unit,
        months=dash.chart_months, today=dash.today, zone=dash.time_zone,
        note="Complete local days from the consumption rollups (the invoices' arithmetic).",
    )
    chart.add(charts.Series(name="Consumption", values=t.months))
    chart.add(charts.Series(name="A year earlier", values=t.earlier, kind=charts.LINE,
                            compare=True))
    return chart


class _Urls:
    """The row links, each URL pattern reversed once per page (a ``reverse`` per row was
    the largest Python cost of the page: ~120 rows of links): the pattern with a marker id,
    the row's public id put in its place (both are UUIDs, which need no quoting)."""

    _MARKER = "00000000-0000-4000-8000-000000000000"

    def __init__(self) -> None:
        self._patterns: dict[tuple[str, str], str] = {}

    def __call__(self, name: str, kwarg: str, public_id: str) -> str:
        pattern = self._patterns.get((name, kwarg))
        if pattern is None:
            pattern = self._patterns[(name, kwarg)] = reverse(
                name, kwargs={kwarg: self._MARKER})
        return pattern.replace(self._MARKER, str(public_id))


def _consumer(c, urls: _Urls) -> dict:
    return {
        "property": c.property.name,
        "property_url": urls("monitoring:property_dashboard", "public_id", c.property.id),
        "name": c.billing_point.name,
        "url": urls("meters:billing_point_detail", "id", c.billing_point.id),
        "quantity": charts.format_quantity(c.quantity, c.unit),
        "area": charts.format_quantity(c.area_m2, "m²") if c.area_m2 else "—",
        "intensity": charts.format_quantity(c.intensity, f"{c.unit}/m²")
        if c.intensity is not None else "—",
    }


def _quiet(q, urls: _Urls) -> dict:
    return {
        "serial": q.meter.name, "label": q.label, "type": TYPE_LABELS.get(q.meter_type),
        "url": urls("meters:meter_detail", "id", q.meter.id),
        "readings_url": urls("readings:meter", "id", q.meter.id),
        "where": f"{q.property.name} / {q.billing_point.name}",
        "last": format_instant(q.last_read_at, q.time_zone, zone_name=True)
        if q.last_read_at else "never",
        "level": q.level,
    }


def _report_url(query: dict, group_by: str) -> str:
    return f"{reverse('monitoring:energy_report')}?{urlencode({**query, 'group_by': group_by})}"


def _month_url(prop: Property | None, dash: Dashboard, step: int) -> str:
    url = (reverse("monitoring:dashboard") if prop is None else
           reverse("monitoring:property_dashboard", kwargs={"public_id": prop.public_id}))
    return f"{url}?month={add_months(dash.month, step):%Y-%m}"

