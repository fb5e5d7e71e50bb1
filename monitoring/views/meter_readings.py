"""Portal page of the scheduled meter reading (thin: parse the query, call the selector,
shape the table the page and its CSV share)."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

from django.core.exceptions import ValidationError
from django.views.generic import TemplateView

from billspree.core.portal import OrganizationPortalMixin, organization_today
from meters.models import Meter, Property
from monitoring.exports import ExportableMixin
from monitoring.params_meter_readings import meter_readings_params
from monitoring.selectors.meter_readings import (
    EVERY,
    METER_QUANTITIES,
    MeterReadingReport,
    meter_readings,
)
from monitoring.tables import DATETIME, NUMBER, Column, Table
from readings.measurements.models import UNITS, Quantity

EVERY_LABELS = {"day": "Every day at", "hour": "Every hour", "month_end": "Each month end (24:00)",
                "list": "At the listed times"}
QUANTITY_LABELS = dict(Quantity.choices)


def meter_readings_table(report: MeterReadingReport) -> Table:
    """The report as the one table the page shows and the CSV writes."""
    columns = [
        Column("property", "Property"), Column("billing_point", "Billing point"),
        Column("meter", "Meter"), Column("local_time", "Local time"), Column("zone", "Zone"),
        Column("instant", "Instant (UTC)", DATETIME), Column("value", "Register", NUMBER,
                                                              digits=4),
        Column("unit", "Unit"), Column("basis", "Basis"), Column("note", "Note"),
    ]
    for q in report.measurements:
        columns += [Column(q, QUANTITY_LABELS[q], NUMBER, UNITS[q]),
                    Column(f"{q}_at", f"{QUANTITY_LABELS[q]} measured at", DATETIME)]
    rows = []
    for r in report.rows:
        cells = [r.property.name if r.property else "",
                 r.billing_point.name if r.billing_point else "", r.meter.name, r.point.label,
                 r.point.at.tzname(), r.point.at.astimezone(UTC), r.value, r.unit, r.basis,
                 r.note]
        for q in report.measurements:
            m = r.measurements[q]
            cells += [m.value, m.measured_at]
        rows.append(cells)
    return Table("meter_readings", "Scheduled meter reading", columns, rows, UTC,
                 notes=[LEGEND])


LEGEND = ("read: a reading at that instant; interpolated: linear in time between the "
          "readings around it (as invoices compute a boundary); estimated: from a reading "
          "of quality estimated; empty: the note says why.")


class MeterReadingsView(ExportableMixin, OrganizationPortalMixin, TemplateView):
    """The register (and chosen measurements) of each meter at scheduled local times."""

    template_name = "monitoring/meter_readings.html"

    def _query(self):
        query = self.request.GET.copy()
        if not any(k in query for k in ("from", "to", "every")):  # yesterday and today
            today = organization_today(self.request)
            query.update({"from": (today - timedelta(days=1)).isoformat(),
                          "to": today.isoformat(), "every": "day", "at": "00:00"})
        return query

    def export_tables(self) -> list[Table]:
        return [meter_readings_table(meter_readings(**meter_readings_params(self._query())))]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        query = self._query()
        report, errors = None, {}
        try:
            report = meter_readings(**meter_readings_params(query))
        except ValidationError as exc:
            errors = exc.message_dict
        chosen_meters = set(query.getlist("meter"))
        chosen_q = {q for v in query.getlist("measurements") for q in v.split(",")}
        ctx.update(
            tab="meter_readings", query=query, errors=errors, report=report,
            every_choices=[(e, EVERY_LABELS[e]) for e in EVERY],
            properties=Property.objects.order_by("name").values_list("public_id", "name"),
            meters=[(str(pid), serial, str(pid) in chosen_meters) for pid, serial in
                    _meter_choices(query.get("property"))],
            quantities=[(q, QUANTITY_LABELS[q], q in chosen_q) for q in METER_QUANTITIES],
            legend=LEGEND, measured=[(q, QUANTITY_LABELS[q], UNITS[q]) for q in
                                     (report.measurements if report else ())],
        )
        return ctx


def _meter_choices(property_id: str | None):
    """The meters to tick: those ever assigned at the chosen property (all without one)."""
    meters = Meter.objects.order_by("serial_number")
    try:
        chosen = uuid.UUID((property_id or "").strip())
    except ValueError:
        return meters.values_list("public_id", "serial_number")
    return meters.filter(assignments__billing_point__property__public_id=chosen).distinct(
    ).values_list("public_id", "serial_number")
