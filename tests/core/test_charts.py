"""The portal's one chart component: what the server builds (billspree/core/charts.py)
and what ``{% chart %}`` renders without JavaScript."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from billspree.core import charts
from tests.charts_html import page_charts


def _months():
    return [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_month_axis_carries_the_year_and_marks_the_month_in_progress_so_far():
    chart = charts.month_chart(id="c1", title="Use", unit="kWh", months=_months(),
                               today=date(2026, 2, 14), zone="Europe/Zurich")
    assert chart.labels == ["Nov 2025", "Dec 2025", "Jan 2026", "Feb 2026, so far"]
    # the year under the first month and under every January; the current month says so
    assert chart.ticks == ["Nov\n2025", "Dec", "Jan\n2026", "Feb\nso far"]
    assert chart.so_far == [False, False, False, True]
    assert chart.zone == "Europe/Zurich"


def test_day_axis_labels_have_weekday_and_year_and_ticks_every_week():
    days = [date(2026, 12, 28) + (date(2027, 1, 2) - date(2027, 1, 1)) * n for n in range(10)]
    chart = charts.day_chart(id="d", title="Use", unit="m³", days=days, today=date(2027, 1, 6))
    assert chart.labels[0] == "Mon 28 Dec 2026"
    assert chart.labels[9] == "Wed 6 Jan 2027, so far" and chart.so_far[9]
    assert chart.ticks[0] == "28 Dec\n2026" and chart.ticks[7] == "4 Jan\n2027"
    assert all(t == "" for i, t in enumerate(chart.ticks) if i % 7)


def test_series_values_are_numbers_for_drawing_and_text_with_the_unit_for_reading():
    chart = charts.month_chart(id="c2", title="Use", unit="kWh", months=_months(),
                               today=date(2026, 2, 14))
    chart.add(charts.Series(
        name="Consumption",
        values=[Decimal("1234.567"), None, Decimal("12"), Decimal("0.5")],
        notes=["", "no data", "partly estimated", ""],
        marks=["", "", "estimated", ""],
    ))
    chart.add(charts.Series(name="A year earlier", kind=charts.LINE, compare=True,
                            values=[Decimal(1), Decimal(2), None, None]))
    data = chart.data()
    main, earlier = data["series"]
    assert main["values"] == [1234.567, None, 12.0, 0.5]
    assert main["text"] == ["1,234.57 kWh", "", "12 kWh", "0.5 kWh"]
    assert main["notes"][1] == "no data" and main["marks"][2] == "estimated"
    assert earlier["kind"] == "line" and earlier["compare"] is True
    assert data["x"] == ["2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01"]
    assert data["unit"] == "kWh" and data["so_far"][-1] is True
    rows = chart.rows()
    assert rows[-1]["label"] == "Feb 2026, so far" and rows[-1]["so_far"]
    assert [c["text"] for c in rows[1]["cells"]] == ["—", "2"]


def test_a_series_of_the_wrong_length_or_kind_is_refused():
    chart = charts.month_chart(id="c3", title="Use", unit="kWh", months=_months(),
                               today=date(2026, 2, 14))
    with pytest.raises(ValueError, match="3 values for 4 points"):
        chart.add(charts.Series(name="short", values=[1, 2, 3]))
    with pytest.raises(ValueError, match="Unknown series kind"):
        charts.Series(name="pie", values=[], kind="pie")


def test_time_axis_labels_instants_in_the_given_zone():
    at = [datetime(2026, 11, 30, 23, 0, tzinfo=UTC), datetime(2026, 12, 1, 5, 0, tzinfo=UTC)]
    chart = charts.time_chart(id="t", title="Load", unit="kW", instants=at,
                              zone="Europe/Zurich")
    chart.add(charts.Series(name="Power", values=[Decimal("3.2"), Decimal("4")],
                            kind=charts.LINE))
    assert chart.labels == ["1 Dec 2026 00:00", "1 Dec 2026 06:00"]
    assert chart.data()["x"] == [at[0].timestamp(), at[1].timestamp()]
    assert chart.x_title == "Time (Europe/Zurich)"


def test_the_tag_renders_a_table_and_json_and_links_the_script_once():
    chart = charts.month_chart(id="c4", title="Use <b>", unit="kWh", months=_months(),
                               today=date(2026, 2, 14))
    chart.add(charts.Series(name="Consumption", values=[1, 2, None, 4]))
    other = charts.month_chart(id="c5", title="Other", unit="m³", months=_months(),
                               today=date(2026, 2, 14))
    other.add(charts.Series(name="Water", values=[1, 2, 3, 4]))
    request = RequestFactory().get("/")
    html = Template("{% load charts %}{% chart a %}{% chart b %}").render(
        Context({"a": chart, "b": other, "request": request}))
    assert html.count("js/chart.js") == 1 and html.count("uPlot.iife.min.js") == 1
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
    assert "Use &lt;b&gt;" in html  # escaped, in the caption
    assert "<td>Feb 2026, so far</td>" in html and "<th class=\"right\">Water (m³)</th>" in html
    found = page_charts(html)
    assert found["c4"]["series"][0]["text"] == ["1 kWh", "2 kWh", "", "4 kWh"]
    assert found["c5"]["unit"] == "m³"


def test_a_chart_without_values_says_so_instead_of_drawing_empty_axes():
    chart = charts.month_chart(id="c6", title="Use", unit="kWh", months=_months(),
                               today=date(2026, 2, 14))
    chart.add(charts.Series(name="Consumption", values=[None, None, None, None]))
    assert chart.empty
    html = Template("{% load charts %}{% chart a %}").render(Context({"a": chart}))
    assert "No values to show yet." in html and "chart-plot" not in html
    assert "<td>Nov 2025</td>" in html  # the table still lists the periods
