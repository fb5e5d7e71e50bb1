"""Measurements through the REST API: all or nothing, idempotent, rows named, scoped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from billspree.core.scoping import organization_context
from meters import services as meter_services
from meters.models import Property
from readings.measurements.models import Measurement, MeasurementSeries
from tests.conftest import api_client
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.django_db
URL = "/api/v1/measurements/"


@pytest.fixture
def devices(world_a):
    with organization_context(world_a.org):
        meter = make_meter("PWR-1", tz="Europe/Zurich")
        prop = Property.objects.get(name="House Europe/Zurich")
        sensor = meter_services.sensor_create(
            kind="temperature_humidity", serial_number="TH-1", property=prop, area="Cellar")
    return meter, sensor


def post(client, body):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def stored(world) -> list[tuple]:
    return list(
        Measurement.objects.unscoped().filter(organization=world.org)
        .order_by("series__quantity", "measured_at")
        .values_list("series__quantity", "measured_at", "value", "source")
    )


BATCH = [
    {"meterNumber": "PWR-1", "quantity": "active_power", "measuredAt": "2026-03-02T10:00:00Z",
     "value": 1523.5},
    # kW → W; a local time without offset is the property's (Zurich, UTC+1 in March)
    {"meterNumber": "PWR-1", "quantity": "active_power", "measuredAt": "2026-03-02T11:01:00",
     "value": "1,6", "unit": "kW"},
    {"meterNumber": "PWR-1", "quantity": "voltage_l1", "measuredAt": "2026-03-02T10:00:00Z",
     "value": "231.2"},
    {"sensorNumber": "TH-1", "quantity": "temperature", "measuredAt": "2026-03-02T10:00:00Z",
     "value": 19.25},
    {"sensorNumber": "TH-1", "quantity": "humidity", "measuredAt": "2026-03-02T10:00:00Z",
     "value": 48},
]


def test_a_batch_is_stored_in_the_stored_units_and_replays_change_nothing(world_a, devices):
    client = api_client(key=world_a.write_key)
    response = post(client, {"measurements": BATCH})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["summary"] == {"received": 5, "created": 5, "unchanged": 0, "replaced": 0,
                               "rejected": 0, "not_imported": 0}
    t10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    expected = [
        ("active_power", t10, 1523.5, "api"),
        ("active_power", datetime(2026, 3, 2, 10, 1, tzinfo=UTC), 1600.0, "api"),
        ("humidity", t10, 48.0, "api"),
        ("temperature", t10, 19.25, "api"),
        ("voltage_l1", t10, 231.2, "api"),
    ]
    assert stored(world_a) == expected
    units = dict(MeasurementSeries.objects.unscoped().values_list("quantity", "unit"))
    assert units == {"active_power": "W", "voltage_l1": "V", "temperature": "°C",
                     "humidity": "%"}
    again = post(client, {"measurements": BATCH})
    assert again.status_code == 200
    assert again.json()["summary"]["unchanged"] == 5 and again.json()["summary"]["created"] == 0
    assert stored(world_a) == expected
    # listing: the meter's power in a period, in the stored unit
    page = client.get(URL, {"meter": "PWR-1", "quantity": "active_power",
                            "from": "2026-03-02T10:00:30Z"}).json()
    assert page["count"] == 1
    assert page["results"] == [{"quantity": "active_power", "unit": "W",
                                "measuredAt": "2026-03-02T10:01:00Z", "value": 1600.0,
                                "source": "api"}]


def test_a_bad_row_stores_nothing_and_every_bad_row_is_named(world_a, devices):
    bad = [
        *BATCH[:2],
        {"meterNumber": "NOPE", "quantity": "active_power", "measuredAt": "2026-03-02T10:00:00Z",
         "value": 1},
        {"sensorNumber": "TH-1", "quantity": "humidity", "measuredAt": "2026-03-02T10:00:00Z",
         "value": 120},
        {"sensorNumber": "TH-1", "quantity": "voltage_l1", "measuredAt": "2026-03-02", "value": 1},
        {"meterNumber": "PWR-1", "quantity": "active_power", "measuredAt": "yesterday",
         "value": "x"},
        {"meterNumber": "PWR-1", "quantity": "active_power", "measuredAt": "2026-03-02T10:00:00Z",
         "value": 5, "unit": "kWh"},
    ]
    response = post(api_client(key=world_a.write_key), {"measurements": bad})
    assert response.status_code == 422
    body = response.json()
    assert body["committed"] is False
    assert body["summary"]["rejected"] == 5 and body["summary"]["not_imported"] == 2
    fields = body["error"]["fields"]
    assert fields["measurements[2].meterNumber"] == [
        "No meter with number 'NOPE' in this organization."]
    assert "outside the plausible range of humidity (0 to 100 %)" in (
        fields["measurements[3].value"][0])
    assert fields["measurements[4].quantity"][0].startswith("A sensor measures humidity or "
                                                            "temperature, not voltage_l1")
    assert "Not an ISO date or timestamp" in fields["measurements[5].measuredAt"][0]
    assert fields["measurements[5].value"] == ["Not a number: 'x'."]
    assert fields["measurements[6].unit"] == [
        "active_power is stored in W; accepted units: W, kW, MW."]
    assert stored(world_a) == []
    assert MeasurementSeries.objects.unscoped().count() == 0


def test_another_value_for_a_stored_instant_is_refused_unless_replace(world_a, devices):
    client = api_client(key=world_a.write_key)
    assert post(client, {"measurements": BATCH[:1]}).status_code == 200
    changed = [{**BATCH[0], "value": 1400}, BATCH[2]]
    response = post(client, {"measurements": changed})
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["measurements[0].value"] == [
        "1523.5 is stored for this device, quantity and instant; send replace=true to "
        "overwrite it."]
    assert [v for _, _, v, _ in stored(world_a)] == [1523.5]  # the voltage was not stored
    response = post(client, {"measurements": changed, "replace": True})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["replaced", "created"]
    assert [v for _, _, v, _ in stored(world_a)] == [1400.0, 231.2]


def test_the_same_instant_twice_in_one_batch(world_a, devices):
    client = api_client(key=world_a.write_key)
    twice = [BATCH[0], BATCH[0]]
    response = post(client, {"measurements": twice})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["created", "unchanged"]
    clash = [BATCH[2], {**BATCH[2], "value": 229}]
    response = post(client, {"measurements": clash})
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["measurements[1].value"] == [
        "Line 0 has another value for the same device, quantity and instant."]


def test_another_organizations_devices_are_unknown_and_reads_need_a_role(world_a, world_b,
                                                                        devices):
    response = post(api_client(key=world_b.write_key), {"measurements": BATCH[:1]})
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["measurements[0].meterNumber"] == [
        "No meter with number 'PWR-1' in this organization."]
    assert post(api_client(key=world_a.read_key), {"measurements": BATCH}).status_code == 403
    assert api_client(key=world_b.read_key).get(URL, {"meter": "PWR-1"}).status_code == 400
    assert stored(world_a) == [] and stored(world_b) == []
