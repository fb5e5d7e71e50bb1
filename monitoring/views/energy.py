"""Portal pages of monitoring (thin: parse the query, call the selector, shape cells)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.views.generic import TemplateView

from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.timefmt import format_day, format_instant, format_month
from meters.models import BillingPoint, MeterType, Property
from monitoring.params import report_params
from monitoring.selectors import GROUPS, energy_report
from monitoring.selectors.energy import Ref

GROUP_LABELS = {"property": "Property", "billing_point": "Billing point",
                "meter_type": "Meter type", "meter": "Meter", "month": "Month", "day": "Day",
                "hour": "Hour"}
TYPE_LABELS = dict(MeterType.choices)


class EnergyReportView(OrganizationPortalMixin, TemplateView):
    """Energy (and cost) by property, billing point, meter type, meter and period."""

    template_name = "monitoring/energy_report.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        if not query:  # this year to date, by property and month
            today = organization_today(self.request)
            query.update({"from": date(today.year, 1, 1).isoformat(),
                          "to": today.isoformat(), "group_by": "property,month"})
        query.setlist("group_by", [",".join(query.getlist("group_by"))])
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
