"""The environment page: every sensor's current temperature and humidity by property and
area, and the history of the chosen sensors (thin: parse, select, shape)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.generic import TemplateView

from billspree.core import charts
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.timefmt import format_day, format_instant
from monitoring.env_params import environment_params
from monitoring.exports import ExportableMixin
from monitoring.selectors.environment import (
    MAX_SENSORS,
    History,
    environment_now,
    measures,
    sensor_history,
)
from monitoring.tables import DATETIME, NUMBER, TEXT, Column, Table

LABELS = {"temperature": "Temperature", "humidity": "Relative humidity"}


def age_text(age) -> str:
    """"4 min", "3 h 5 min", "2 d 1 h": how old a value is, to the minute."""
    minutes = int(age.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


def history_chart(h: History) -> charts.Chart:
    """Average as the line, minimum and maximum as muted lines, in the sensor's zone."""
    xs = [p.at for p in h.points]
    title = f"{LABELS[h.quantity]} of {h.sensor.serial_number}"
    cid = f"env-{h.sensor.public_id}-{h.quantity}"
    if h.bin == "day":
        chart = charts.day_chart(id=cid, title=title, unit=h.unit, days=xs,
                                 today=timezone.localdate(timezone=h.zone), zone=h.zone,
                                 tick_every=max(1, len(xs) // 8))
    else:
        chart = charts.time_chart(id=cid, title=title, unit=h.unit, instants=xs, zone=h.zone,
                                  note=f"Average, minimum and maximum per {h.bin}.")
    chart.add(charts.Series("Average", [round(p.avg, 2) for p in h.points], kind=charts.LINE))
    if any(p.samples > 1 for p in h.points):
        chart.add(charts.Series("Minimum", [p.min for p in h.points], kind=charts.LINE,
                                compare=True))
        chart.add(charts.Series("Maximum", [p.max for p in h.points], kind=charts.LINE,
                                compare=True))
    return chart


def current_table(groups, zone) -> Table:
    columns = [Column("property", "Property"), Column("area", "Area"),
               Column("sensor", "Sensor"), Column("label", "Label"),
               Column("temperature", "Temperature", NUMBER, "°C", 1),
               Column("temperature_at", "Temperature measured", DATETIME),
               Column("humidity", "Relative humidity", NUMBER, "%", 1),
               Column("humidity_at", "Humidity measured", DATETIME),
               Column("stale", "Stale", TEXT)]
    rows = []
    for g in groups:
        for a in g.areas:
            for s in a.sensors:
                t, h = s.values.get("temperature"), s.values.get("humidity")
                rows.append([g.property.name, a.name, s.sensor.serial_number, s.sensor.label,
                             t.value if t else None, t.at if t else None,
                             h.value if h else None, h.at if h else None,
                             "yes" if s.stale else "no"])
    return Table("environment", "Environmental sensors now", columns, rows, zone)


def ctx_selected(chosen) -> set[str]:
    return {str(s.public_id) for s in chosen["sensors"]} if chosen else set()


def _value_text(current, unit: str, zone) -> dict:
    return {"value": f"{current.value:.1f} {unit}", "at": format_instant(current.at, zone),
            "age": age_text(current.age), "stale": current.stale}


def _area_summary(area) -> str:
    """"Mean 21.3 °C (20.9–21.8) · 46.0 % (44.1–47.9), 3 sensors": for an area of two or
    more sensors, the fresh values' mean and range per quantity ("" otherwise)."""
    if len(area.sensors) < 2:
        return ""
    parts = []
    for quantity, unit in (("temperature", "°C"), ("humidity", "%")):
        v = area.summary(quantity)
        if v is not None:
            stale = f", {v.stale} stale left out" if v.stale else ""
            parts.append(f"{v.mean:.1f} {unit} ({v.min:.1f}–{v.max:.1f}; "
                         f"{v.sensors} sensor{pluralize(v.sensors)}{stale})")
    return "Mean " + " · ".join(parts) if parts else "No fresh values in this area"


def _shaped(groups, selected: set[str]) -> list[dict]:
    """What the template prints: every value formatted here, in the property's zone."""
    out = []
    for g in groups:
        areas = []
        for a in g.areas:
            sensors = []
            for s in a.sensors:
                pid = str(s.sensor.public_id)
                t, h = s.values.get("temperature"), s.values.get("humidity")
                sensors.append({
                    "pid": pid, "serial": s.sensor.serial_number, "label": s.sensor.label,
                    "kind": s.sensor.get_kind_display(), "selected": pid in selected,
                    "stale": s.stale,
                    "temperature": _value_text(t, "°C", g.zone) if t else None,
                    "humidity": _value_text(h, "%", g.zone) if h else None,
                })
            areas.append({"name": a.name or "No area", "sensors": sensors,
                          "summary": _area_summary(a), "trend": urlencode(
                              [("sensor", s["pid"]) for s in sensors[:MAX_SENSORS]])})
        out.append({"name": g.property.name, "zone": str(g.zone), "areas": areas})
    return out


class EnvironmentView(ExportableMixin, OrganizationPortalMixin, TemplateView):
    """Environmental sensors: current values by property and area, and their trends."""

    template_name = "monitoring/environment.html"

    def export_tables(self) -> list[Table]:
        return [current_table(environment_now(now=timezone.now()),
                              self.request.organization.time_zone)]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        query = self.request.GET
        now = timezone.now()
        groups = environment_now(now=now)
        errors, chosen, histories = {}, None, []
        try:
            chosen = environment_params(query, now=now,
                                        time_zone=self.request.organization.time_zone)
        except ValidationError as exc:
            errors = exc.message_dict
        if chosen is not None:
            for sensor in chosen["sensors"]:
                for quantity in chosen["quantities"]:
                    if not measures(sensor, quantity):
                        continue
                    h = sensor_history(sensor=sensor, quantity=quantity, first=chosen["first"],
                                       last=chosen["last"])
                    histories.append((h, history_chart(h)))
        ctx.update(
            tab="environment", groups=groups, errors=errors, query=query, chosen=chosen,
            histories=histories, age_text=age_text, labels=LABELS,
            period=(f"{format_day(chosen['first'])} – {format_day(chosen['last'])}"
                    if chosen else ""),
            first=chosen["first"].isoformat() if chosen else query.get("from", ""),
            last=chosen["last"].isoformat() if chosen else query.get("to", ""),
            properties=_shaped(groups, ctx_selected(chosen)),
        )
        return ctx
