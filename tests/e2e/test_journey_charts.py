"""Charts in a real browser (issue 15, "Charts everywhere"): the manager's meter page and the
tenant's consumption pages draw the one chart component (static/js/chart.js on uPlot)
with the unit on the value axis and the year on the time axis; a bar's value shows on
hover and on a tap (a 390 px phone with a touch screen), the month in progress reads
"so far", bars start at zero (no label eats their height), and nothing breaks the
Content-Security-Policy. Screenshots go to test-artifacts/charts-*.png."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billspree.core import timefmt
from billspree.core.scoping import organization_context
from tests.e2e.conftest import ARTIFACTS, portal_login
from tests.e2e.test_csp import watched_context
from tests.tenants.factories_portal import BERLIN, make_portal_tenant, read

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def home(world_a):
    """A tenant whose meter was read every month for over a year and every day lately."""
    with organization_context(world_a.org):
        tenant = make_portal_tenant(world_a, "CHARTS")
        now = timezone.now().astimezone(BERLIN)
        value, points = Decimal("200"), []
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        starts = []
        for back in range(15, 1, -1):  # monthly readings, 15 to 2 months ago
            y, m = divmod(month.year * 12 + month.month - 1 - back, 12)
            starts.append(month.replace(year=y, month=m + 1))
        for at in starts:
            value += Decimal(150 + 10 * (at.month % 5))
            points.append((at, str(value)))
        day = (now - timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
        while day < now - timedelta(hours=2):
            value += Decimal(5 + day.day % 4)
            points.append((day, str(value)))
            day += timedelta(hours=12)
        read(tenant.meter, *points)  # all after the factory's readings of Feb/Mar 2025
    return tenant


def _drawn(page, figure_id: str) -> dict:
    figure = page.locator(f"figure#{figure_id}")
    expect(figure).to_have_class("chart chart-drawn")
    expect(figure.locator("canvas")).to_be_visible()
    return figure.evaluate("""f => {
      const u = billspreeCharts.instance(f);
      return {
        ticks: billspreeCharts.ticks(f),
        labels: u.axes.map(a => a.label),
        yMin: u.scales.y.min,
        width: u.over.getBoundingClientRect().width,
        n: u.data[0].length,
      };
    }""")


FITS = """() => {
  const cut = [...document.querySelectorAll("figure.chart, figure.chart *")].filter((el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return r.right > window.innerWidth + 1 || (["auto", "scroll", "hidden", "clip"].includes(
      s.overflowX) && el.scrollWidth > el.clientWidth + 1);
  });
  return {scroll: document.documentElement.scrollWidth,
          cut: cut.map((el) => el.tagName + "." + el.className)};
}"""


def _fits(page) -> None:
    """The page is no wider than the phone and no chart part is cut off."""
    found = page.evaluate(FITS)
    assert found["scroll"] <= PHONE["width"] + 1 and not found["cut"], found


def _point(page, figure_id: str, i: int) -> dict:
    return page.locator(f"figure#{figure_id}").evaluate(f"f => billspreeCharts.pointAt(f, {i})")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"charts-{name}.png"), full_page=True)


def test_manager_meter_page_charts_show_unit_year_and_values_on_hover(
    browser, live_server, world_a, home
):
    context, page, violations = watched_context(browser, live_server, DESKTOP)
    try:
        portal_login(page, world_a.manager.email)
        page.goto(f"/readings/meters/{home.meter.public_id}/")
        months_id = f"meter-{home.meter.public_id}-months"
        drawn = _drawn(page, months_id)
        today = timezone.now().astimezone(BERLIN).date()
        assert "kWh" in drawn["labels"] and any("Month" in lbl for lbl in drawn["labels"])
        assert any(str(today.year) in t for t in drawn["ticks"]), drawn["ticks"]
        first_year = today.year if today.month == 12 else today.year - 1
        assert drawn["ticks"][0].endswith(str(first_year)), drawn["ticks"]
        assert drawn["ticks"][-1].endswith("so far"), drawn["ticks"]
        assert drawn["yMin"] == 0  # bars start at zero, whatever sits under them
        # hover the last month (in progress): its value, unit and "so far"
        at = _point(page, months_id, drawn["n"] - 1)
        page.mouse.move(at["x"], at["y"])
        tip = page.locator(f"figure#{months_id} .chart-tooltip")
        expect(tip).to_be_visible()
        expect(tip).to_contain_text(f"{timefmt.month_name(today)} {today.year}, so far")
        expect(tip).to_contain_text("kWh")
        # a month a year ago, with the comparison line's value too
        at = _point(page, months_id, 0)
        page.mouse.move(at["x"], at["y"])
        expect(tip).to_contain_text("Consumption:")
        expect(tip).to_contain_text("A year earlier:")
        # the daily chart: year on the axis, a day's value on hover
        days_id = f"meter-{home.meter.public_id}-days"
        days = _drawn(page, days_id)
        assert any(str(today.year) in t or str(today.year - 1) in t for t in days["ticks"])
        at = _point(page, days_id, days["n"] - 2)
        page.mouse.move(at["x"], at["y"])
        day_tip = page.locator(f"figure#{days_id} .chart-tooltip")
        expect(day_tip).to_contain_text(str((today - timedelta(days=2)).year))
        expect(day_tip).to_contain_text("kWh")
        # the values are in a table for readers without the chart
        page.locator(f"figure#{months_id} summary").click()
        expect(page.locator(f"figure#{months_id} .chart-table")).to_contain_text(
            f"{timefmt.month_name(today)} {today.year}, so far")
        _shot(page, "manager-meter-1440")
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(300)  # the charts follow the width
        assert _drawn(page, months_id)["width"] < 390
        _shot(page, "manager-meter-390")
        violations.assert_none("the meter page's charts")
    finally:
        context.close()


def test_tenant_consumption_on_a_phone_shows_a_value_on_tap(browser, live_server, home):
    context, page, violations = watched_context(browser, live_server, PHONE, touch=True)
    try:
        portal_login(page, home.user.email)
        page.goto("/my/consumption/")
        chart_id = f"my-{home.meter.public_id}-months"
        drawn = _drawn(page, chart_id)
        today = timezone.now().astimezone(BERLIN).date()
        assert "kWh" in drawn["labels"]
        assert any(str(today.year) in t for t in drawn["ticks"]), drawn["ticks"]
        assert drawn["ticks"][-1].endswith("so far") and drawn["yMin"] == 0
        assert drawn["width"] < 390
        # a tap on the month before last: its value and unit stay shown
        at = _point(page, chart_id, drawn["n"] - 3)
        page.touchscreen.tap(at["x"], at["y"])
        tip = page.locator(f"figure#{chart_id} .chart-tooltip")
        expect(tip).to_be_visible()
        expect(tip).to_contain_text("kWh")
        expect(tip).to_contain_text(str(today.year if today.month > 2 else today.year - 1))
        box = tip.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # readable
        _fits(page)
        _shot(page, "tenant-consumption-390")
        # the meter's own page: months and days, a tap on a day
        page.goto(f"/my/consumption/{home.meter.public_id}/")
        days_id = f"my-{home.meter.public_id}-days"
        days = _drawn(page, days_id)
        at = _point(page, days_id, days["n"] - 2)
        page.touchscreen.tap(at["x"], at["y"])
        expect(page.locator(f"figure#{days_id} .chart-tooltip")).to_contain_text("kWh")
        expect(page.get_by_test_id("so-far")).to_be_visible()
        page.locator(f"figure#{days_id} summary").click()  # the values table opened
        _fits(page)
        _shot(page, "tenant-meter-390")
        violations.assert_none("the tenant's charts")
    finally:
        context.close()


def test_tenant_consumption_at_desktop_width(browser, live_server, home):
    context, page, violations = watched_context(browser, live_server, DESKTOP)
    try:
        portal_login(page, home.user.email)
        page.goto("/my/consumption/")
        chart_id = f"my-{home.meter.public_id}-months"
        drawn = _drawn(page, chart_id)
        at = _point(page, chart_id, drawn["n"] - 1)
        page.mouse.move(at["x"], at["y"])
        expect(page.locator(f"figure#{chart_id} .chart-tooltip")).to_contain_text("so far")
        # by keyboard: the plot takes focus, the arrows step through the months
        page.mouse.move(0, 0)
        page.locator(f"figure#{chart_id} .u-over").focus()
        page.keyboard.press("ArrowLeft")
        today = timezone.now().astimezone(BERLIN).date()
        before = (today.replace(day=1) - timedelta(days=1))
        expect(page.locator(f"figure#{chart_id} .chart-tooltip")).to_contain_text(
            f"{timefmt.month_name(before)} {before.year}")
        _shot(page, "tenant-consumption-1440")
        violations.assert_none("the tenant's charts")
    finally:
        context.close()


def test_time_axis_lines_and_grouped_bars_for_the_charts_built_on_this_one(
    browser, live_server, world_a, home
):
    """What the monitoring pages will draw: a load curve on a time axis in the property's
    zone (line + comparison line), and two bar series side by side."""
    from datetime import datetime

    from billspree.core import charts

    start = datetime(2026, 12, 1, tzinfo=BERLIN)
    instants = [start + timedelta(minutes=15 * n) for n in range(96)]
    load = charts.time_chart(id="load", title="Load", unit="kW", instants=instants,
                             zone="Europe/Berlin")
    load.add(charts.Series(name="Power", kind=charts.LINE,
                           values=[Decimal(3 + (n % 24) / 4) for n in range(96)]))
    load.add(charts.Series(name="A week earlier", kind=charts.LINE, compare=True,
                           values=[Decimal(2 + (n % 12) / 4) for n in range(96)]))
    months = [start.date().replace(month=m) for m in range(9, 13)]
    split = charts.month_chart(id="split", title="Energy", unit="kWh", months=months,
                               today=start.date())
    split.add(charts.Series(name="Day rate", values=[10, 20, 30, 5]))
    split.add(charts.Series(name="Night rate", values=[5, 10, 15, 2]))
    context, page, violations = watched_context(browser, live_server, DESKTOP)
    try:
        portal_login(page, world_a.manager.email)
        page.goto(f"/readings/meters/{home.meter.public_id}/")  # the chart assets loaded
        for chart in (load, split):
            page.evaluate("""data => {
              const fig = document.createElement('figure');
              fig.className = 'chart'; fig.id = data.id; fig.dataset.chart = data.id + '-data';
              const plot = document.createElement('div'); plot.className = 'chart-plot';
              const json = document.createElement('script');
              json.type = 'application/json'; json.id = data.id + '-data';
              json.textContent = JSON.stringify(data);
              fig.append(plot, json);
              document.querySelector('main').prepend(fig);
              billspreeCharts.drawAll();
            }""", chart.data())
        drawn = _drawn(page, "load")
        assert drawn["labels"][0] == "Time (Europe/Berlin)" and drawn["labels"][1] == "kW"
        assert drawn["ticks"][0] == "00:00\n1 Dec 2026", drawn["ticks"]  # local, with year
        assert "06:00" in drawn["ticks"], drawn["ticks"]
        at = _point(page, "load", 24)  # 06:00 local
        page.mouse.move(at["x"], at["y"])
        tip = page.locator("figure#load .chart-tooltip")
        expect(tip).to_contain_text("1 Dec 2026 06:00")
        expect(tip).to_contain_text("Power: 3 kW")
        expect(tip).to_contain_text("A week earlier: 2 kW")
        _drawn(page, "split")
        at = _point(page, "split", 3)
        page.mouse.move(at["x"], at["y"])
        tip = page.locator("figure#split .chart-tooltip")
        expect(tip).to_contain_text("Dec 2026, so far")
        expect(tip).to_contain_text("Day rate: 5 kWh")
        expect(tip).to_contain_text("Night rate: 2 kWh")
        page.locator("figure#load").scroll_into_view_if_needed()
        _shot(page, "time-and-grouped")
        violations.assert_none("charts drawn from a script")
    finally:
        context.close()
