"""The tenant's consumption chart: the month in progress is their use *so far* (up to the
latest reading), not a projection to the month's end; months outside their stay are
gaps with a reason; labels carry the year."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billspree.core import timefmt
from tenants.consumption import tenant_meter_months, tenant_month_chart
from tests.charts_html import page_charts
from tests.conftest import login_client
from tests.tenants.factories_portal import BERLIN, make_portal_tenant, read

pytestmark = pytest.mark.django_db


def test_month_in_progress_is_the_use_so_far_not_a_projection(in_org_a):
    pt = make_portal_tenant(in_org_a, "SOFAR")
    now = timezone.now().astimezone(BERLIN)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    latest = first + (now - first) / 2
    # 100 kWh a day for ten days before the month, then 7 kWh up to the latest reading
    read(pt.meter, (first - timedelta(days=10), "1000"), (first, "2000"), (latest, "2007"))
    bars = tenant_meter_months(tenant=pt.tenant, meter=pt.meter, months=3)
    assert bars[-1].so_far and not bars[-2].so_far
    assert bars[-1].quantity == Decimal(7) and not bars[-1].estimated
    chart = tenant_month_chart(meter=pt.meter, bars=bars)
    today = now.date()
    assert chart.labels[-1] == f"{timefmt.month_name(today)} {today.year}, so far"
    assert chart.data()["series"][0]["text"][-1] == "7 kWh"


def test_months_outside_the_stay_are_gaps_with_a_reason_and_the_page_shows_them(in_org_a):
    pt = make_portal_tenant(in_org_a, "GAPS")
    # the factory's tenant moved in Jan 2025: 30 months back reach before that
    bars = tenant_meter_months(tenant=pt.tenant, meter=pt.meter, months=30)
    chart = tenant_month_chart(meter=pt.meter, bars=bars)
    away = [i for i, b in enumerate(bars) if not b.occupied]
    assert away, "some months are before the move-in"
    assert all(chart.series[0].values[i] is None for i in away)
    assert all(chart.series[0].notes[i] == "you did not live there" for i in away)
    page = login_client(pt.user).get("/my/consumption/")
    shown = page_charts(page.content)[f"my-{pt.meter.public_id}-months"]
    assert shown["unit"] == "kWh" and shown["so_far"][-1]
    assert shown["labels"][-1].endswith(f"{timezone.now().astimezone(BERLIN).year}, so far")
