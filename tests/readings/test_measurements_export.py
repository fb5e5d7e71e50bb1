"""Raw measurements export (``GET /api/v1/measurements/export.csv``): exact CSV of hand-built
values of a meter and a sensor across the DST change, filters, scoping, bad input."""

from __future__ import annotations

import pytest
from django.http import StreamingHttpResponse

from billspree.core.scoping import organization_context
from meters import services as meter_services
from meters.models import Property
from readings.measurements.ingest import MeasurementIn, measurement_ingest
from readings.models import Source
from tests.conftest import api_client
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.django_db
URL = "/api/v1/measurements/export.csv"
HEADER = "device_kind,device,device_id,quantity,unit,measured_at,value,source"


@pytest.fixture
def data(world_a):
    """PWR-1 (a meter) and TH-1 (a sensor) in Zurich; 29 March 2026, the clocks go from
    02:00 +01:00 to 03:00 +02:00 at 01:00 UTC. 00:30Z → 01:30+01:00, 01:15Z → 03:15+02:00."""
    with organization_context(world_a.org):
        meter = make_meter("PWR-1", tz="Europe/Zurich")
        prop = Property.objects.get(name="House Europe/Zurich")
        sensor = meter_services.sensor_create(
            kind="temperature_humidity", serial_number="TH-1", property=prop, area="Cellar")
        rows = [("meterNumber", "PWR-1", "active_power", "2026-03-29T00:30:00Z", 1500),
                ("meterNumber", "PWR-1", "active_power", "2026-03-29T01:15:00Z", "1523.5"),
                ("meterNumber", "PWR-1", "voltage_l1", "2026-03-29T01:15:00Z", "231.2"),
                ("sensorNumber", "TH-1", "temperature", "2026-03-29T01:15:00Z", "19,25"),
                ("sensorNumber", "TH-1", "humidity", "2026-03-29T01:15:00Z", 48)]
        outcome = measurement_ingest(rows=[
            MeasurementIn(i, **{"meter_number" if kind == "meterNumber" else "sensor_number":
                                number}, quantity=q, measured_at=at, value=v)
            for i, (kind, number, q, at, v) in enumerate(rows)], source=Source.API)
        assert outcome.committed, [r.errors for r in outcome.results]
    return meter, sensor, prop


def expected(meter, sensor) -> list[str]:
    m, s = f"meter,PWR-1,{meter.public_id},", f"sensor,TH-1,{sensor.public_id},"
    # series by device number then quantity; values as stored (1523.5, 19.25: no float noise)
    return [m + "active_power,W,2026-03-29T01:30:00+01:00,1500,api",
            m + "active_power,W,2026-03-29T03:15:00+02:00,1523.5,api",
            m + "voltage_l1,V,2026-03-29T03:15:00+02:00,231.2,api",
            s + "humidity,%,2026-03-29T03:15:00+02:00,48,api",
            s + "temperature,°C,2026-03-29T03:15:00+02:00,19.25,api"]


def csv_of(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    assert isinstance(response, StreamingHttpResponse)
    rows = b"".join(response.streaming_content).decode().split("\r\n")
    assert rows[0] == HEADER and rows[-1] == ""
    return rows[1:-1]


def test_every_raw_value_as_stored_and_the_filters(world_a, data):
    meter, sensor, prop = data
    rows = expected(meter, sensor)
    client = api_client(key=world_a.read_key)
    assert csv_of(client.get(URL)) == rows
    assert csv_of(client.get(URL, {"property": str(prop.public_id)})) == rows
    assert csv_of(client.get(URL, {"meter": "PWR-1", "quantity": "active_power"})) == rows[:2]
    assert csv_of(client.get(URL, {"sensor": str(sensor.public_id),
                                   "quantity": "temperature"})) == rows[4:]
    # from 03:00 local (the first hour after the change): everything but 01:30+01:00
    assert csv_of(client.get(URL, {"from": "2026-03-29T03:00"})) == rows[1:]
    # the DST day inclusive, and the day before (nothing)
    assert csv_of(client.get(URL, {"from": "2026-03-29", "to": "2026-03-29"})) == rows
    assert csv_of(client.get(URL, {"to": "2026-03-28"})) == []


def test_a_sensor_number_a_spreadsheet_would_evaluate_is_exported_as_text(world_a, data):
    prop = data[2]
    with organization_context(world_a.org):
        sensor = meter_services.sensor_create(
            kind="temperature_humidity", serial_number="@SUM(1+1)*cmd", property=prop)
        outcome = measurement_ingest(rows=[MeasurementIn(
            0, sensor_number="@SUM(1+1)*cmd", quantity="temperature",
            measured_at="2026-03-29T01:15:00Z", value="-3.5")], source=Source.API)
        assert outcome.committed, [r.errors for r in outcome.results]
    rows = csv_of(api_client(key=world_a.read_key).get(URL, {"sensor": str(sensor.public_id)}))
    assert rows == [f"sensor,'@SUM(1+1)*cmd,{sensor.public_id},temperature,°C,"
                    "2026-03-29T03:15:00+02:00,-3.5,api"]


def test_bad_input_and_other_organizations_devices_are_400_naming_the_parameter(
        world_a, world_b, data):
    with organization_context(world_b.org):
        theirs = make_meter("PWR-B", tz="UTC")
    client = api_client(key=world_a.read_key)
    for query, field in (({"quantity": "watts"}, "quantity"), ({"sensor": "NO-SUCH"}, "sensor"),
                         ({"meter": "PWR-B"}, "meter"), ({"meter": str(theirs.public_id)}, "meter"),
                         ({"to": "2026-13-01"}, "to"), ({"format": ""}, "format"),
                         ({"sensor": "TH-1", "property": str(data[2].public_id)}, "property")):
        response = client.get(URL, query)
        assert response.status_code == 400, (query, response.content[:200])
        assert list(response.json()["error"]["fields"]) == [field], query
