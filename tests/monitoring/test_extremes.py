"""The extremum report (selector, page, API, CSV) on the hand-built dataset of
``tests/monitoring/load_world.py``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from monitoring.selectors.extremes import extremes
from readings.measurements.retention import measurements_downsample
from tests.conftest import api_client, login_client
from tests.monitoring.load_world import D21, D25, make_load_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(in_org_a):
    return make_load_world()


def _by(report):
    return {(r.device.name, r.quantity): r for r in report.rows}


def test_max_and_min_with_their_instants(world):
    rows = _by(extremes(first=D21, last=D25))
    assert set(rows) == {("E-LOAD", "active_power"), ("E-NOCAP", "active_power"),
                         ("T-1", "temperature")}
    feeder = rows[("E-LOAD", "active_power")]
    # 9700 W at 11:00 and 12:00 on 21 Oct: the earliest, 11:00 CEST = 09:00 UTC
    assert (feeder.maximum, feeder.max_at) == (9700.0, datetime(2026, 10, 21, 9, tzinfo=UTC))
    # 1000 W first on 22 Oct 11:00 CEST = 09:00 UTC (before the 25 Oct samples)
    assert (feeder.minimum, feeder.min_at) == (1000.0, datetime(2026, 10, 22, 9, tzinfo=UTC))
    t1 = rows[("T-1", "temperature")]
    assert (t1.maximum, t1.max_at) == (21.0, datetime(2026, 10, 25, 11, tzinfo=UTC))  # 12:00 CET
    # 16.25 °C at 01:37 UTC = 02:37 CET (the second 02:37 of the day)
    assert (t1.minimum, t1.min_at) == (16.25, datetime(2026, 10, 25, 1, 37, tzinfo=UTC))
    assert t1.kind == "sensor" and t1.property.name == "Werkhof" and t1.unit == "°C"


def test_local_days_of_the_property_and_filters(world):
    # only 25 Oct (00:00 CEST = 24 Oct 22:00 UTC … 26 Oct 00:00 CET = 25 Oct 23:00 UTC)
    rows = _by(extremes(first=D25, last=D25, quantity="active_power"))
    assert set(rows) == {("E-LOAD", "active_power")}
    feeder = rows[("E-LOAD", "active_power")]
    assert (feeder.maximum, feeder.max_at) == (5000.0, datetime(2026, 10, 25, 1, 37, tzinfo=UTC))
    # 1000 W first at the day's first sample, 00:00 CEST = 24 Oct 22:00 UTC
    assert (feeder.minimum, feeder.min_at) == (1000.0, datetime(2026, 10, 24, 22, tzinfo=UTC))
    assert extremes(first=date(2026, 10, 26), last=date(2026, 10, 26)).rows == []
    other = extremes(first=D21, last=D25, property_id=world.prop.pk + 10_000)
    assert other.rows == []


def test_downsampled_values_keep_their_extremes(world):
    measurements_downsample(now=datetime(2026, 11, 1, tzinfo=UTC), raw_days=1)
    rows = _by(extremes(first=D21, last=D25))
    feeder = rows[("E-LOAD", "active_power")]
    assert (feeder.maximum, feeder.max_at) == (9700.0, datetime(2026, 10, 21, 9, tzinfo=UTC))
    t1 = rows[("T-1", "temperature")]
    assert (t1.minimum, t1.min_at) == (16.25, datetime(2026, 10, 25, 1, 37, tzinfo=UTC))


def test_page_shows_cet_after_the_clocks_went_back_and_csv(world, world_a):
    client = login_client(world_a.admin, world_a.org)
    query = {"from": "2026-10-25", "to": "2026-10-25", "property": str(world.prop.public_id),
             "quantity": "temperature"}
    html = client.get(reverse("monitoring:extremes"), query).content.decode()
    assert "25 Oct 2026 02:37 CET" in html and "CEST" not in html.split("extremes-table")[1]
    assert "25 Oct 2026 12:00 CET" in html
    response = client.get(reverse("monitoring:extremes"), {**query, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["Property", "Device", "Kind", "Quantity", "Unit", "Maximum", "Maximum at", "Minimum",
         "Minimum at"],
        ["Werkhof", "T-1", "sensor", "temperature", "°C", "21", "2026-10-25T12:00:00+01:00",
         "16.25", "2026-10-25T02:37:00+01:00"],
    ]


def test_api(world, world_a):
    response = api_client(user=world_a.admin).get("/api/v1/monitoring/extremes/", {
        "from": "2026-10-25", "to": "2026-10-25", "sensor": str(world.sensor.public_id)})
    assert response.status_code == 200, response.content
    assert response.json()["rows"] == [{
        "kind": "sensor", "device": {"id": str(world.sensor.public_id), "name": "T-1"},
        "property": {"id": str(world.prop.public_id), "name": "Werkhof"},
        "time_zone": "Europe/Zurich", "quantity": "temperature", "unit": "°C",
        "maximum": 21.0, "max_at": "2026-10-25T11:00:00Z",
        "minimum": 16.25, "min_at": "2026-10-25T01:37:00Z"}]


@pytest.mark.parametrize(("query", "field"), [
    ({"to": "2026-10-25"}, "from"),
    ({"from": "2026-10-25", "to": "2026-10-24"}, "to"),
    ({"from": "2026-10-25", "to": "2026-10-25", "quantity": "pressure"}, "quantity"),
    ({"from": "2026-10-25", "to": "2026-10-25", "sensor": "x"}, "sensor"),
    ({"from": "2020-01-01", "to": "2026-10-25"}, "to"),
])
def test_bad_input_names_the_field(world, world_a, query, field):
    response = api_client(user=world_a.admin).get("/api/v1/monitoring/extremes/", query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    client = login_client(world_a.admin, world_a.org)
    page = client.get(reverse("monitoring:extremes"), query)
    assert page.status_code == 200 and page.context["errors"][field]
    csv_response = client.get(reverse("monitoring:extremes"), {**query, "format": "csv"})
    assert csv_response.status_code == 400 and field in csv_response.content.decode()


def test_selector_refuses_unknown_quantity(in_org_a):
    with pytest.raises(ValidationError) as exc:
        extremes(first=D21, last=D21, quantity="pressure")
    assert "quantity" in exc.value.message_dict
