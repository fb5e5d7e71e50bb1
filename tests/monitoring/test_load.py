"""Load analysis (selector, page, API, CSV) and the meter's rated capacity, on the
hand-built dataset of ``tests/monitoring/load_world.py`` (the arithmetic is there and
repeated by each assertion)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from billspree.core.scoping import organization_context
from meters import services as meter_services
from meters.models import Meter
from monitoring.selectors.load import load_analysis
from readings.measurements.retention import measurements_downsample
from tests.conftest import api_client, login_client
from tests.monitoring.load_world import D21, D22, D25, make_load_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(in_org_a):
    return make_load_world()


def _days(report, serial):
    lm = next(m for m in report.meters if m.meter.name == serial)
    return {d.day: d for d in lm.days}


def test_daily_peak_percent_hours_above_and_average(world):
    report = load_analysis(first=D21, last=D25, meter_id=world.feeder.pk)
    assert [m.meter.name for m in report.meters] == ["E-LOAD"]
    days = _days(report, "E-LOAD")
    assert list(days) == [D21, D22, date(2026, 10, 23), date(2026, 10, 24), D25]
    d21 = days[D21]
    # 9700 W at 11:00 and at 12:00 (tie → the earliest, 11:00 CEST = 09:00 UTC)
    assert d21.peak_kw == Decimal("9.700")
    assert d21.peak_at == datetime(2026, 10, 21, 9, 0, tzinfo=UTC)
    assert d21.peak_percent == Decimal("97.0")  # 9700 / 10000 W
    assert d21.hours_above == Decimal("2.75")  # 11 samples 10:00–12:30 × 15 min; 8000 W not
    assert d21.average_kw == Decimal("2.000")  # (88 − 40) kWh / 24 h
    d22 = days[D22]
    # 10:00 held 15 min (capped: next sample 11:00), 23:50 held to midnight (10 min)
    assert d22.hours_above == Decimal("0.42")  # 0.25 + 0.1666… h
    assert (d22.peak_kw, d22.peak_percent) == (Decimal("9.000"), Decimal("90.0"))
    assert d22.average_kw == Decimal("0.500")  # (100 − 88) kWh / 24 h
    d25 = days[D25]
    assert d25.peak_kw == Decimal("5.000") and d25.peak_percent == Decimal("50.0")
    assert d25.peak_at == datetime(2026, 10, 25, 1, 37, tzinfo=UTC)  # 02:37 CET
    assert d25.hours_above == Decimal("0.00")
    assert d25.average_kw == Decimal("1.200")  # (150 − 120) kWh / 25 h (DST day)
    # 23 Oct: no measurement, consumption (110 − 100) kWh / 24 h = 0.41666…
    d23 = days[date(2026, 10, 23)]
    assert (d23.peak_kw, d23.peak_percent, d23.hours_above) == (None, None, None)
    assert d23.average_kw == Decimal("0.417")


def test_property_scope_lists_meters_without_capacity_with_no_percent(world):
    report = load_analysis(first=D21, last=D21, property_id=world.prop.pk)
    assert [m.meter.name for m in report.meters] == ["E-LOAD", "E-NOCAP"]
    assert [m.meter.name for m in report.without_capacity] == ["E-NOCAP"]
    nocap = _days(report, "E-NOCAP")[D21]
    assert nocap.peak_kw == Decimal("3.000")
    assert (nocap.peak_percent, nocap.hours_above, nocap.average_kw) == (None, None, None)


def test_downsampled_days_read_the_aggregates(world):
    # retention 1 day at 1 Nov: every raw row before 31 Oct 00:00 UTC becomes 15-min buckets
    result = measurements_downsample(now=datetime(2026, 11, 1, tzinfo=UTC), raw_days=1)
    assert result.deleted + len(result.dropped) > 0
    days = _days(load_analysis(first=D21, last=D25, meter_id=world.feeder.pk), "E-LOAD")
    # one sample per bucket on the quarter hours: same peak, same 11 buckets above 8 kW
    assert (days[D21].peak_kw, days[D21].peak_at) == (
        Decimal("9.700"), datetime(2026, 10, 21, 9, 0, tzinfo=UTC))
    assert days[D21].hours_above == Decimal("2.75")
    # 25 Oct 01:30 UTC bucket: 1000 and 5000 W → max 5000 at 01:37, average 3000 W
    assert days[D25].peak_at == datetime(2026, 10, 25, 1, 37, tzinfo=UTC)
    assert days[D25].peak_percent == Decimal("50.0")
    # 22 Oct: buckets hold 15 min each: 10:00 (9000) and 23:45 (9000, clipped at midnight)
    assert days[D22].hours_above == Decimal("0.50")


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-10-21"}, "to"),
    ({"from": "2026-10-21", "to": "2026-10-20"}, "to"),
    ({"from": "2026-13-01", "to": "2026-10-20"}, "from"),
    ({"from": "2025-01-01", "to": "2026-10-20"}, "to"),
    ({"from": "2026-10-21", "to": "2026-10-21", "meter": "nope"}, "meter"),
    ({"from": "2026-10-21", "to": "2026-10-21", "property": "00000000-0000-0000-0000-000000000000"},
     "property"),
])
def test_bad_input_names_the_field(world, world_a, query, field):
    response = api_client(user=world_a.admin).get("/api/v1/monitoring/load/", query)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    page = login_client(world_a.admin, world_a.org).get(reverse("monitoring:load"), query)
    assert page.status_code == 200
    assert page.context["errors"][field]


def test_selector_refuses_bad_period(in_org_a):
    with pytest.raises(ValidationError) as exc:
        load_analysis(first=D21, last=D21 - timedelta(days=1))
    assert "to" in exc.value.message_dict


def test_api_gives_the_days(world, world_a):
    response = api_client(user=world_a.admin).get("/api/v1/monitoring/load/", {
        "from": "2026-10-21", "to": "2026-10-21", "meter": str(world.feeder.public_id)})
    assert response.status_code == 200, response.content
    body = response.json()
    meter = body["meters"][0]
    assert meter["meter"] == {"id": str(world.feeder.public_id), "name": "E-LOAD"}
    assert meter["capacity_kw"] == "10.000"
    assert meter["days"] == [{"day": "2026-10-21", "peak_kw": "9.700",
                              "peak_at": "2026-10-21T09:00:00Z", "average_kw": "2.000",
                              "peak_percent": "97.0", "hours_above": "2.75"}]


def test_page_and_csv(world, world_a):
    client = login_client(world_a.admin, world_a.org)
    query = {"from": "2026-10-25", "to": "2026-10-25", "property": str(world.prop.public_id)}
    page = client.get(reverse("monitoring:load"), query)
    html = page.content.decode()
    assert page.status_code == 200
    assert "25 Oct 2026 02:37 CET" in html  # the peak, after the clocks went back
    assert reverse("meters:meter_edit", kwargs={"id": world.nocap.public_id}) in html
    response = client.get(reverse("monitoring:load"), {**query, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["Meter", "Day", "Peak (kW)", "Peak at"]
    feeder = next(r for r in rows if r[0] == "E-LOAD")
    # 5000 W at 01:37 UTC = 02:37+01:00; 30 kWh / 25 h; 5000/10000; no time above 8 kW
    assert feeder == ["E-LOAD", "2026-10-25", "5.000", "2026-10-25T02:37:00+01:00", "1.200",
                      "10.000", "50.0", "0.00"]


# --- the rated capacity on the meter ------------------------------------------------------


def test_capacity_is_validated_in_service_api_and_form(world, world_a):
    with pytest.raises(ValidationError) as exc:
        meter_services.meter_update(meter=world.nocap, rated_capacity=Decimal("0"))
    assert "rated_capacity" in exc.value.message_dict
    client = api_client(user=world_a.admin)
    url = f"/api/v1/meters/{world.nocap.public_id}/"
    response = client.patch(url, {"rated_capacity": "-5"}, format="json")
    assert response.status_code == 400
    assert "rated_capacity" in response.json()["error"]["fields"]
    response = client.patch(url, {"rated_capacity": "25.5"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rated_capacity"] == "25.500"
    portal = login_client(world_a.admin, world_a.org)
    edit = reverse("meters:meter_edit", kwargs={"id": world.nocap.public_id})
    form = portal.get(edit).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(type="electricity", unit="kWh", rated_capacity="0")
    page = portal.post(edit, data)
    assert page.status_code == 400  # the form again, the field's error under it
    assert "more than 0 kW" in page.context["form"].errors["rated_capacity"][0]
    with organization_context(world_a.org):
        assert Meter.objects.get(pk=world.nocap.pk).rated_capacity == Decimal("25.500")


def test_database_refuses_zero_capacity(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Meter.objects.filter(pk=world.feeder.pk).update(rated_capacity=Decimal("0"))
