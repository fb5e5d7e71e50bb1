"""Environmental monitoring (selector, API, page) on hand-written measurements: sensors by
property and area with their latest values and ages, stale after an hour, and a history
that joins raw measurements with the 15-minute aggregates the retention wrote."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billspree.core.scoping import organization_context
from meters.models import BillingPoint, Property
from meters.services.sensors import sensor_create
from monitoring.env_params import environment_params
from monitoring.selectors.environment import environment_now, sensor_history
from readings.measurements.ingest import measurements_store, series_ensure
from readings.measurements.models import MeasurementAggregate
from readings.measurements.retention import measurements_downsample
from tests.conftest import api_client, login_client

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 25, 11, tzinfo=UTC)  # 25 Oct 12:00 in Zurich (after the DST change)
M = timedelta(minutes=1)


def store(sensor, quantity, *values):
    """(instant, value) pairs of one quantity of a sensor, as a gateway poll stores them."""
    series = series_ensure("sensor", [(sensor.pk, quantity)])[(sensor.pk, quantity)]
    measurements_store([(series, at, v) for at, v in values], source="gateway")


@pytest.fixture
def sensors(in_org_a):
    """Seehaus (Zurich): T-1 in the server room, T-2 at flat 1 (no area); Bergli: T-3
    with no values yet."""
    prop = Property.objects.create(name="Seehaus", time_zone="Europe/Zurich")
    flat1 = BillingPoint.objects.create(property=prop, connection_id="Z-1", name="Flat 1")
    other = Property.objects.create(name="Bergli", time_zone="Europe/Zurich")
    t1 = sensor_create(kind="temperature_humidity", serial_number="T-1", label="Rack",
                       property=prop, area="Server room")
    t2 = sensor_create(kind="temperature", serial_number="T-2", property=prop,
                       billing_point=flat1)
    t3 = sensor_create(kind="temperature", serial_number="T-3", property=other)
    return {"t1": t1, "t2": t2, "t3": t3, "prop": prop}


def test_current_values_by_property_and_area_with_age_and_staleness(sensors):
    store(sensors["t1"], "temperature", (NOW - 3 * 60 * M, 20.0), (NOW - 60 * M, 21.5))
    store(sensors["t1"], "humidity", (NOW - 30 * M, 44.0))
    store(sensors["t2"], "temperature", (NOW - 61 * M, 19.0))
    groups = environment_now(now=NOW)
    assert [g.property.name for g in groups] == ["Bergli", "Seehaus"]
    assert [a.name for a in groups[0].areas] == [""]  # T-3: no area, no billing point
    assert groups[0].areas[0].sensors[0].values == {}
    assert groups[0].areas[0].sensors[0].stale  # nothing measured yet
    seehaus = {a.name: a.sensors for a in groups[1].areas}
    assert list(seehaus) == ["Flat 1", "Server room"]  # the billing point names the area
    t1 = seehaus["Server room"][0].values
    assert (t1["temperature"].value, t1["temperature"].age) == (21.5, 60 * M)  # the latest
    assert not t1["temperature"].stale  # exactly an hour old: not yet stale
    assert (t1["humidity"].value, t1["humidity"].age, t1["humidity"].stale) == (44.0, 30 * M,
                                                                                 False)
    t2 = seehaus["Flat 1"][0]
    assert t2.values["temperature"].stale and t2.stale  # 61 minutes old


def test_history_joins_raw_values_and_downsampled_buckets(sensors):
    """20 Oct (UTC) values are downsampled (raw kept 3 days before 25 Oct), 24/25 Oct stay
    raw; the hourly bin is weighted by samples, not an average of averages."""
    t1 = sensors["t1"]
    old = datetime(2026, 10, 20, 10, tzinfo=UTC)
    store(t1, "temperature", (old, 18.0), (old + 5 * M, 20.0), (old + 40 * M, 23.0))
    raw = datetime(2026, 10, 24, 22, tzinfo=UTC)  # 25 Oct 00:00 in Zurich (CEST)
    store(t1, "temperature", (raw, 20.0), (raw + 5 * M, 21.0), (raw + 10 * M, 24.5))
    measurements_downsample(now=NOW, raw_days=3)
    assert MeasurementAggregate.objects.count() == 2  # buckets 10:00 (2 values), 10:30 (1)
    h = sensor_history(sensor=t1, quantity="temperature", first=date(2026, 10, 20),
                       last=date(2026, 10, 25))
    assert (h.bin, h.unit) == ("1 h", "°C")  # 6 days: hourly bins
    assert [(p.at, p.min, round(p.avg, 4), p.max, p.samples) for p in h.points] == [
        (old, 18.0, 20.3333, 23.0, 3),  # (19 × 2 + 23) / 3, from the aggregates
        (raw, 20.0, 21.8333, 24.5, 3),  # (20 + 21 + 24.5) / 3, raw
    ]
    short = sensor_history(sensor=t1, quantity="temperature", first=date(2026, 10, 25),
                           last=date(2026, 10, 25))
    assert short.bin == "15 min"
    assert [(p.at, p.samples) for p in short.points] == [(raw, 3)]
    long = sensor_history(sensor=t1, quantity="temperature", first=date(2026, 9, 1),
                          last=date(2026, 10, 31))
    assert long.bin == "day"  # local days of the sensor's property
    assert [(p.at, p.samples) for p in long.points] == [(date(2026, 10, 20), 3),
                                                        (date(2026, 10, 25), 3)]


def test_history_refuses_bad_input(sensors):
    with pytest.raises(ValidationError) as exc:
        sensor_history(sensor=sensors["t1"], quantity="temperature", first=date(2026, 10, 2),
                       last=date(2026, 10, 1))
    assert "before it begins" in exc.value.message_dict["to"][0]
    with pytest.raises(ValidationError) as exc:
        sensor_history(sensor=sensors["t1"], quantity="pressure", first=date(2026, 10, 1),
                       last=date(2026, 10, 1))
    assert "quantity" in exc.value.message_dict


def test_the_default_period_ends_on_the_latest_local_day_of_org_and_sensors(sensors):
    """06 Dec 23:30 UTC is 07 Dec 00:30 in Zurich: a UTC organization's today (06 Dec) would cut
    the Zurich history at 06 Dec 23:00 UTC and hide a value measured five minutes ago."""
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    t1 = sensors["t1"]
    store(t1, "temperature", (late - 5 * M, 21.4))
    query = {"sensor": str(t1.public_id)}
    chosen = environment_params(query, now=late, time_zone=ZoneInfo("UTC"))
    assert (chosen["first"], chosen["last"]) == (date(2026, 12, 6), date(2026, 12, 7))
    h = sensor_history(sensor=t1, quantity="temperature", first=chosen["first"],
                       last=chosen["last"])
    assert [(p.at, p.avg) for p in h.points] == [(datetime(2026, 12, 6, 23, 15, tzinfo=UTC),
                                                  21.4)]
    # without sensors, or with a sensor west of the organization, the organization's today
    assert environment_params({}, now=late, time_zone=ZoneInfo("UTC"))["last"] == date(2026, 12,
                                                                                         6)
    ny = sensor_create(kind="temperature", serial_number="T-NY", property=Property.objects.create(
        name="Hudson", time_zone="America/New_York"))
    chosen = environment_params({"sensor": str(ny.public_id)}, now=late,
                                time_zone=ZoneInfo("UTC"))
    assert chosen["last"] == date(2026, 12, 6)
    # and the organization's today when it is ahead of every sensor
    assert environment_params(query, now=late, time_zone=ZoneInfo("Asia/Tokyo"))["last"] == date(
        2026, 12, 7)


def test_api_and_page_show_current_values_and_history(sensors, world_a):
    now = timezone.now().replace(microsecond=0)
    t1 = sensors["t1"]
    store(t1, "temperature", (now - 5 * M, 21.4))
    store(t1, "humidity", (now - 5 * M, 47.3))
    store(sensors["t2"], "temperature", (now - 125 * M, 18.0))
    body = api_client(key=world_a.read_key).get("/api/v1/monitoring/environment/", {
        "sensor": str(t1.public_id), "quantity": "temperature"}).json()
    by_serial = {s["serial_number"]: s for s in body["sensors"]}
    assert by_serial["T-1"]["temperature"]["value"] == 21.4
    assert by_serial["T-1"]["area"] == "Server room" and not by_serial["T-1"]["stale"]
    assert by_serial["T-2"]["stale"]
    assert 7500 <= by_serial["T-2"]["temperature"]["age_seconds"] < 7560  # 2 h 5 min
    assert by_serial["T-3"]["temperature"] is None
    assert [(x["quantity"], x["bin"], [p["avg"] for p in x["points"]])
            for x in body["history"]] == [("temperature", "15 min", [21.4])]
    client = login_client(world_a.viewer, world_a.org)
    page = html.unescape(client.get("/monitoring/environment/",
                                    {"sensor": str(t1.public_id)}).content.decode())
    assert "21.4 °C" in page and "47.3 %" in page
    assert "2 h 5 min ago, stale" in page and "5 min ago" in page
    assert 'data-testid="chart"' in page
    assert client.get("/monitoring/environment/").status_code == 200


def test_an_area_of_several_sensors_shows_its_mean_range_and_a_trend_of_them_all(
        sensors, world_a):
    now = timezone.now().replace(microsecond=0)
    t1 = sensors["t1"]
    t4 = sensor_create(kind="temperature_humidity", serial_number="T-4", property=sensors["prop"],
                       area="Server room")
    t5 = sensor_create(kind="temperature", serial_number="T-5", property=sensors["prop"],
                       area="Server room")
    store(t1, "temperature", (now - 5 * M, 21.0))
    store(t1, "humidity", (now - 5 * M, 40.0))
    store(t4, "temperature", (now - 2 * M, 24.0))
    store(t4, "humidity", (now - 2 * M, 50.0))
    store(t5, "temperature", (now - 90 * M, 5.0))  # stale: left out of the mean
    room = next(a for g in environment_now(now=now) for a in g.areas if a.name == "Server room")
    t = room.summary("temperature")
    assert (t.mean, t.min, t.max, t.sensors, t.stale) == (22.5, 21.0, 24.0, 2, 1)
    assert room.summary("humidity").mean == 45.0
    client = login_client(world_a.viewer, world_a.org)
    page = html.unescape(client.get("/monitoring/environment/").content.decode())
    row = page.split('data-area="Server room"')[1].split("</tr>")[0]
    assert ("Mean 22.5 °C (21.0–24.0; 2 sensors, 1 stale left out) · "
            "45.0 % (40.0–50.0; 2 sensors)") in row
    trend = row.split('href="?')[1].split('"')[0]
    assert trend == "&".join(f"sensor={s.public_id}" for s in (t1, t4, t5))
    assert 'data-area="Flat 1"' not in page  # one sensor: its row says it all
    body = api_client(key=world_a.read_key).get("/api/v1/monitoring/environment/").json()
    (api_room,) = [a for a in body["areas"] if a["name"] == "Server room"]
    assert api_room["sensors"] == [str(s.public_id) for s in (t1, t4, t5)]
    assert api_room["temperature"] == {"mean": 22.5, "min": 21.0, "max": 24.0, "sensors": 2,
                                       "stale": 1}
    assert api_room["humidity"]["mean"] == 45.0
    histories = html.unescape(client.get(f"/monitoring/environment/?{trend}").content.decode())
    assert histories.count('data-testid="chart"') == 5  # T-1 ×2, T-4 ×2, T-5 (temperature only)


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"sensor": "nope"}, "sensor", "valid id"),
    ({"sensor": str(uuid.UUID(int=9))}, "sensor", "No sensor"),
    ({"from": "2026-10-02", "to": "2026-10-01"}, "to", "before it begins"),
    ({"from": "2024-01-01", "to": "2026-10-01"}, "to", "at most"),
    ({"quantity": "pressure"}, "quantity", "'pressure'"),
    ({"from": "2026-02-30"}, "from", "Not a date"),
])
def test_bad_parameters_get_a_clear_error_by_name(world_a, query, field, words):
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/environment/", query)
    assert response.status_code == 400, response.content
    assert words in str(response.json()) and field in str(response.json()), response.json()
    page = login_client(world_a.viewer, world_a.org).get("/monitoring/environment/", query)
    assert page.status_code == 200 and words in html.unescape(page.content.decode())


def test_another_organizations_sensor_is_unknown(sensors, world_a, world_b):
    with organization_context(world_b.org):
        prop = Property.objects.create(name="Theirs", time_zone="UTC")
        theirs = sensor_create(kind="temperature", serial_number="X-1", property=prop)
        assert [g.property.name for g in environment_now(now=NOW)] == ["Theirs"]
    response = api_client(key=world_a.read_key).get("/api/v1/monitoring/environment/", {
        "sensor": str(theirs.public_id)})
    assert response.status_code == 400 and "No sensor" in str(response.json())
