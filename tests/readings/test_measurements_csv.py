"""The measurements page: CSV upload all or nothing with a row report, latest values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billspree.core.scoping import organization_context
from meters import services as meter_services
from meters.models import Property
from readings.measurements.models import Measurement
from tests.conftest import login_client
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.django_db
URL = "/readings/measurements/"


@pytest.fixture
def devices(world_a):
    with organization_context(world_a.org):
        make_meter("PWR-9", tz="Europe/Berlin")
        prop = Property.objects.get(name="House Europe/Berlin")
        meter_services.sensor_create(kind="temperature", serial_number="T-9", property=prop,
                                     area="Server room")


def upload(client, text: str, **data):
    file = SimpleUploadedFile("m.csv", text.encode(), content_type="text/csv")
    return client.post(URL, {"file": file, **data})


GOOD = (
    "meterNumber;sensorNumber;quantity;measuredAt;value;unit\n"
    "PWR-9;;active_power;2026-11-30T10:00:00Z;1,5;kW\n"
    ";T-9;temperature;30.11.2026 11:15;21,25;\n"  # local Berlin date form: 10:15 UTC
)


def test_a_good_file_is_stored_and_shown_with_its_latest_values(world_a, devices):
    client = login_client(world_a.operator, world_a.org)
    response = upload(client, GOOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 stored, 0 already stored with the same value, 0 replaced." in html
    rows = Measurement.objects.unscoped().filter(organization=world_a.org).order_by(
        "measured_at").values_list("series__quantity", "measured_at", "value", "source")
    assert list(rows) == [
        ("active_power", datetime(2026, 11, 30, 10, 0, tzinfo=UTC), 1500.0, "upload"),
        ("temperature", datetime(2026, 11, 30, 10, 15, tzinfo=UTC), 21.25, "upload"),
    ]
    page = client.get(URL).content.decode()
    assert "1500 W" in page and "21.25 °C" in page
    # each in its property's time (Berlin, UTC+1), not UTC
    assert "30 Nov 2026 11:00:00" in page and "30 Nov 2026 11:15:00" in page
    assert "Server room" in page
    assert "1500 W" in page and upload(client, GOOD).status_code == 200  # a replay
    assert Measurement.objects.unscoped().filter(organization=world_a.org).count() == 2


def test_a_bad_row_imports_nothing_and_the_page_names_line_field_and_why(world_a, devices):
    client = login_client(world_a.operator, world_a.org)
    bad = GOOD + "PWR-9;;voltage_l1;2026-11-30T10:00:00Z;-5;V\n;T-9;power;2026-11-30;1;\n"
    response = upload(client, bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was imported" in html and "2 bad rows" in html
    assert "<td class=\"right num\">4</td><td>PWR-9</td><td>value</td>" in html
    assert "-5 V is outside the plausible range of voltage_l1 (0 to 1e+06 V)." in html
    assert "<td class=\"right num\">5</td><td>T-9</td><td>quantity</td>" in html
    assert Measurement.objects.unscoped().count() == 0


def test_a_file_without_the_columns_is_refused_and_viewers_cannot_upload(world_a, devices):
    client = login_client(world_a.operator, world_a.org)
    response = upload(client, "serial,when,what\nPWR-9,2026-11-30,1\n")
    assert response.status_code == 400
    assert "Line 1: missing column(s) quantity, measuredAt, value" in response.content.decode()
    viewer = login_client(world_a.viewer, world_a.org)
    assert upload(viewer, GOOD).status_code == 403
    assert Measurement.objects.unscoped().count() == 0
