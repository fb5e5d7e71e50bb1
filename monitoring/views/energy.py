"""Portal pages of monitoring (thin: parse the query, call the selector, shape cells)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.views.generic import TemplateView

from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.timefmt import format_day, format_days, format_instant, format_month
from meters.models import BillingPoint, MeterType, Property
from monitoring.exports import ExportableMixin
from monitoring.exports.pages import FILE_PARAMS
from monitoring.params import report_params
from monitoring.selectors import GROUPS, energy_report
from monitoring.selectors.energy import EnergyReport, Ref
from monitoring.tables import DATE, DATETIME, MONTH, NUMBER, TEXT, Column, Table

GROUP_LABELS = {"property": "Property", "billing_point": "Billing point",
                "meter_type": "Meter type", "meter": "Meter", "month": "Month", "day": "Day",
                "hour": "Hour"}
TYPE_LABELS = dict(MeterType.choices)


class EnergyReportView(ExportableMixin, OrganizationPortalMixin, TemplateView):
    """Energy (and cost) by property, billing point, meter type, meter and period; exports
    as CSV, XLSX and PDF (``?format=``) through the same selector."""

    template_name = "monitoring/energy_report.html"
    export_title = "Energy report"

    def report_query(self):
        """The request's query without the file parameters, defaulted to this year to date
        by property and month, ``group_by`` joined into one value."""
        query = self.request.GET.copy()
        for name in FILE_PARAMS:
            query.pop(name, None)
        if not query:  # this year to date, by property and month
            today = organization_today(self.request)
            query.update({"from": date(today.year, 1, 1).isoformat(),
                          "to": today.isoformat(), "group_by": "property,month"})
        query.setlist("group_by", [",".join(query.getlist("group_by"))])
        return query

    def export_tables(self) -> list[Table]:
        params = report_params(self.report_query())
        self._report = report = energy_report(**params)
        zone = _zone(params, self.request.organization)
        return energy_tables(report, zone)

    def export_period(self) -> str:
        report = getattr(self, "_report", None)
        return format_days(report.first, report.last) if report else ""

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        query = self.report_query()
        report, errors = None, {}
        try:
            report = energy_report(**report_params(query))
        except ValidationError as exc:
            errors = exc.message_dict
        chosen = set(query.get("group_by", "").split(","))
        org = self.request.organization
        ctx.update(
            query=query, errors=errors, report=report,
            groups=[(g, GROUP_LABELS[g], g in chosen) for g in GROUPS],
            properties=Property.objects.order_by("name").values_list("public_id", "name"),
            billing_points=BillingPoint.objects.order_by("name").values_list("public_id", "name"),
            meter_types=MeterType.choices,
            headers=[GROUP_LABELS[g] for g in report.group_by] if report else [],
            rows=[(_cells(r.keys, org), r.unit, r.quantity) for r in report.rows] if report
            else [],
            costs=None if report is None or report.costs is None else
            [(_cells(c.keys, org), c.currency, c.amount) for c in report.costs],
            totals=sorted(report.totals.items()) if report else [],
            cost_totals=sorted(report.cost_totals.items()) if report else [],
            period=(format_day(report.first, org) + " – " + format_day(report.last, org))
            if report else "",
            export_query=query.urlencode(),
            incomplete=[(g.main_serial, g.sub_serial, format_days(g.first, g.last), g.days)
                        for g in report.incomplete] if report else [],
        )
        return ctx


def _cells(keys: dict, org) -> list[str]:
    cells = []
    for name, value in keys.items():
        if isinstance(value, Ref):
            cells.append(value.name)
        elif name == "hour":
            cells.append(format_instant(value, org))
        elif name == "month":
            cells.append(format_month(value))
        elif name == "day":
            cells.append(format_day(value))
        elif name == "meter_type":
            cells.append(TYPE_LABELS.get(value, value or "Other charges"))
        else:
            cells.append(str(value))
    return cells


#: the kind of each group's column in an export
GROUP_KINDS = {"property": TEXT, "billing_point": TEXT, "meter_type": TEXT, "meter": TEXT,
               "month": MONTH, "day": DATE, "hour": DATETIME}


def _zone(params: dict, org) -> ZoneInfo:
    """Instants (the hour group) are exported in the filtered property's zone, else the
    organization's."""
    if params.get("property_id"):
        prop = Property.objects.filter(pk=params["property_id"]).first()
        if prop is not None:
            return ZoneInfo(str(prop.time_zone))
    return ZoneInfo(str(org.time_zone))


def _key_value(name: str, value):
    if isinstance(value, Ref):
        return value.name
    if name == "meter_type":
        return TYPE_LABELS.get(value, value or "Other charges")
    return value


def energy_tables(report: EnergyReport, zone: ZoneInfo) -> list[Table]:
    """The report as tables: consumption, and cost when the grouping has it. Values are
    typed (the month a date, the hour an aware instant, quantities Decimal)."""
    groups = [Column(g, GROUP_LABELS[g], GROUP_KINDS[g]) for g in report.group_by]
    period = f"{format_days(report.first, report.last)} (local days, inclusive)"
    notes = [period, "Consumption from the same engine as invoices (complete local days)."]
    tables = [Table(
        name="consumption", title="Consumption", zone=zone, notes=notes,
        columns=[*groups, Column("quantity", "Quantity", NUMBER, digits=4),
                 Column("unit", "Unit")],
        rows=[[*(_key_value(k, v) for k, v in r.keys.items()), r.quantity, r.unit]
              for r in report.rows])]
    if report.costs is not None:
        tables.append(Table(
            name="cost", title="Cost (net, issued invoices)", zone=zone,
            notes=[period, "Net amounts of issued invoices less credit notes, by the month "
                           "the invoice period starts in."],
            columns=[*groups, Column("amount", "Amount", NUMBER, digits=2),
                     Column("currency", "Currency")],
            rows=[[*(_key_value(k, v) for k, v in c.keys.items()), c.amount, c.currency]
                  for c in report.costs]))
    return tables
