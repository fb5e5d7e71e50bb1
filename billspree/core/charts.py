"""The portal's one chart component: what a chart shows, built on the server.

A page builds a :class:`Chart` (an x axis of months, days or instants, one or more
series of bars or lines in one unit) and renders it with ``{% chart the_chart %}``
(``billspree/core/templatetags/charts.py``). That prints a ``<figure data-chart>``
with the values as a table (readable and testable without JavaScript) and the same data
as a non-executed JSON block, which ``static/js/chart.js`` draws with uPlot (vendored,
``static/js/VENDORED.txt``): axes with the unit and the year, tooltips on hover and tap.

Everything a person reads is formatted here, once: the period labels (with the year, in
the property's time zone, through :mod:`billspree.core.timefmt`), the values with their
unit, and the notes ("so far", "partly estimated", "no data"). The browser only lays
them out. A period still in progress (the current month or day) is marked ``so_far``: its
value is what was used up to the latest reading, never a projection to the period's end.

Use::

    chart = charts.month_chart(id=f"meter-{m.public_id}-months", title="Consumption",
                               unit=m.unit, months=firsts, today=today, zone=tz)
    chart.add(charts.Series(name="Consumption", values=quantities, notes=notes))
    chart.add(charts.Series(name="A year earlier", values=earlier, kind=charts.LINE,
                            compare=True))
    # a load curve: charts.time_chart(id=..., unit="kW", instants=[...], zone=tz)
    # template: {% load charts %}{% chart chart %}

Ids must be unique on a page. Several bar series are drawn side by side; ``compare``
series are muted (grey, lines dashed). ``readings/charts.py`` and
``tenants/consumption.py`` build the portal's charts this way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billspree.core import timefmt

BAR, LINE = "bar", "line"
MONTH, DAY, TIME = "month", "day", "time"
SO_FAR = "so far"


def format_quantity(value: Decimal | float | int | None, unit: str = "") -> str:
    """"1,234.5 kWh": at most two decimals, thousands grouped; "" for no value."""
    if value is None:
        return ""
    number = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    return f"{number:,f} {unit}".strip()


@dataclass
class Series:
    """One row of values over the chart's x axis (``None`` where there is no value).

    ``notes`` (optional, one per point) say why a value is special ("partly estimated",
    "no readings", "before you moved in"); ``compare`` marks a series drawn for
    comparison (e.g. the same months a year earlier), muted, behind the main ones.
    """

    name: str
    values: Sequence[Decimal | float | int | None]
    kind: str = BAR
    notes: Sequence[str] | None = None
    compare: bool = False
    #: a per-point style the JS knows ("estimated" hatches, "away" leaves the slot empty)
    marks: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.kind not in (BAR, LINE):
            raise ValueError(f"Unknown series kind {self.kind!r}")


@dataclass
class Chart:
    """A chart: ``x`` (local dates for month/day axes, aware datetimes for a time axis),
    their ``labels`` (full, with the year) and axis ``ticks`` (short, the year shown where
    it starts), ``so_far`` per point, and the series in one ``unit``."""

    id: str
    title: str
    unit: str
    axis: str
    x: list[date | datetime]
    labels: list[str]
    ticks: list[str]
    so_far: list[bool]
    series: list[Series] = field(default_factory=list)
    x_title: str = ""
    zone: str = ""
    note: str = ""

    def add(self, series: Series) -> Chart:
        if len(series.values) != len(self.x):
            raise ValueError(
                f"Series {series.name!r} has {len(series.values)} values for {len(self.x)} points"
            )
        self.series.append(series)
        return self

    @property
    def empty(self) -> bool:
        return not any(v is not None for s in self.series for v in s.values)

    # --- what the template and the script read -----------------------------------------

    def point_note(self, series: Series, i: int) -> str:
        """The series' note of point ``i`` ("partly estimated"); "so far" is in the label."""
        return (series.notes[i] or "") if series.notes else ""

    def rows(self) -> list[dict[str, Any]]:
        """The fallback table: one row per point, a cell per series."""
        out = []
        for i, label in enumerate(self.labels):
            cells = []
            for s in self.series:
                value = s.values[i]
                cells.append({
                    "text": format_quantity(value) if value is not None else "—",
                    "note": self.point_note(s, i),
                })
            out.append({"label": label, "so_far": self.so_far[i], "cells": cells})
        return out

    def data(self) -> dict[str, Any]:
        """The JSON the script draws (through ``json_script``: never executed)."""
        return {
            "id": self.id,
            "title": self.title,
            "unit": self.unit,
            "axis": self.axis,
            "x_title": self.x_title,
            "zone": self.zone,
            "x": [_x_value(v) for v in self.x],
            "labels": self.labels,
            "ticks": self.ticks,
            "so_far": self.so_far,
            "series": [
                {
                    "name": s.name,
                    "kind": s.kind,
                    "compare": s.compare,
                    "values": [None if v is None else float(v) for v in s.values],
                    "text": [format_quantity(v, self.unit) for v in s.values],
                    "notes": [self.point_note(s, i) for i in range(len(self.x))],
                    "marks": list(s.marks) if s.marks else [],
                }
                for s in self.series
            ],
        }


def _x_value(value: date | datetime) -> str | float:
    if isinstance(value, datetime):
        return value.timestamp()
    return value.isoformat()


# --- axes --------------------------------------------------------------------------------


def month_chart(
    *, id: str, title: str, unit: str, months: Iterable[date], today: date,
    x_title: str = "Month", zone: Any = None, note: str = "",
) -> Chart:
    """An axis of local calendar months (``months``: their 1st days, oldest first).

    The month that holds ``today`` is ``so_far``; labels read "Nov 2026" ("Dec 2026, so
    far"), ticks "Nov" with the year under the first month and under every January.
    """
    months = list(months)
    labels, ticks, so_far = [], [], []
    for i, first in enumerate(months):
        current = (first.year, first.month) == (today.year, today.month)
        name = timefmt.month_name(first)
        label = f"{name} {first.year}"
        labels.append(f"{label}, {SO_FAR}" if current else label)
        tick = f"{name}\n{first.year}" if i == 0 or first.month == 1 else name
        ticks.append(f"{tick}\n{SO_FAR}" if current else tick)
        so_far.append(current)
    return Chart(id=id, title=title, unit=unit, axis=MONTH, x=months, labels=labels,
                 ticks=ticks, so_far=so_far, x_title=x_title, zone=_zone_name(zone), note=note)


def day_chart(
    *, id: str, title: str, unit: str, days: Iterable[date], today: date,
    x_title: str = "Day", zone: Any = None, tick_every: int = 7, note: str = "",
) -> Chart:
    """An axis of local days (oldest first). ``today`` is ``so_far``; labels read
    "Thu 3 Dec 2026", a tick every ``tick_every`` days reads "3 Dec" (with the year under
    the first tick and at a new year)."""
    days = list(days)
    labels, ticks, so_far = [], [], []
    shown_year = None
    for i, day in enumerate(days):
        current = day == today
        label = f"{day:%a} {timefmt.format_day(day)}"
        labels.append(f"{label}, {SO_FAR}" if current else label)
        tick = ""
        if i % tick_every == 0:
            tick = f"{day.day} {timefmt.month_name(day)}"
            if day.year != shown_year:
                tick, shown_year = f"{tick}\n{day.year}", day.year
        ticks.append(tick)
        so_far.append(current)
    return Chart(id=id, title=title, unit=unit, axis=DAY, x=days, labels=labels,
                 ticks=ticks, so_far=so_far, x_title=x_title, zone=_zone_name(zone), note=note)


def time_chart(
    *, id: str, title: str, unit: str, instants: Iterable[datetime], zone: Any,
    x_title: str = "", note: str = "",
) -> Chart:
    """An axis of instants (trends, load curves): the script places them in time and
    labels the axis in ``zone``; the table and tooltips read "1 Dec 2026 06:00"."""
    instants = list(instants)
    tz = timefmt.zone(zone)
    labels = [timefmt.format_instant(t, tz) for t in instants]
    return Chart(id=id, title=title, unit=unit, axis=TIME, x=instants, labels=labels,
                 ticks=[""] * len(instants), so_far=[False] * len(instants),
                 x_title=x_title or f"Time ({_zone_name(tz)})", zone=_zone_name(tz), note=note)


def _zone_name(zone: Any) -> str:
    if zone is None or zone == "":
        return ""
    return str(getattr(zone, "key", zone))
