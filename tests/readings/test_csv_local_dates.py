"""CSV import in the property's local date forms (03.12.2026, 3.12.2026 14:00), decided per
property (never per row), a clear row error for what cannot be read unambiguously, a
template to download; the JSON batch API stays ISO 8601."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billspree.core.scoping import organization_context
from readings.models import Reading, Upload
from readings.parsing import parse_local_instant
from readings.services import upload_create
from tests.conftest import api_client, login_client
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def upload(world, content: bytes, capture) -> Upload:
    with capture(execute=True):
        created = upload_create(
            file=SimpleUploadedFile("readings.csv", content), actor=world.operator
        )
    created.refresh_from_db()
    return created


@pytest.fixture
def meters(in_org_a):
    make_meter("Z-1", tz="Europe/Zurich", connected_at=datetime(2024, 1, 1, tzinfo=UTC))
    make_meter("NY-1", tz="America/New_York", connected_at=datetime(2024, 1, 1, tzinfo=UTC))


def stored() -> list[tuple]:
    return list(
        Reading.objects.order_by("meter__serial_number", "read_at").values_list(
            "meter__serial_number", "read_at", "value"
        )
    )


def test_dotted_local_dates_in_the_property_time_zone(
    in_org_a, meters, django_capture_on_commit_callbacks
):
    content = (
        b"meterNumber;readAt;value\n"
        b"Z-1;03.01.2025;100\n"
        b"Z-1;3.2.2025 14:00;150,5\n"
        b"Z-1;2025-03-01;200\n"  # ISO still accepted in the same file
        b"NY-1;3/1/2025;10\n"  # a US property writes month/day/year: 1 March
    )
    result = upload(in_org_a, content, django_capture_on_commit_callbacks)
    assert result.status == "done", result.errors
    assert stored() == [
        ("NY-1", datetime(2025, 3, 1, 5, tzinfo=UTC), Decimal("10")),
        ("Z-1", datetime(2025, 1, 2, 23, tzinfo=UTC), Decimal("100")),
        ("Z-1", datetime(2025, 2, 3, 13, tzinfo=UTC), Decimal("150.5")),
        ("Z-1", datetime(2025, 2, 28, 23, tzinfo=UTC), Decimal("200")),
    ]


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("03.12.25", "four digits"),  # century and order cannot be told apart
        ("31.02.2025", "is not a date (read as day.month.year)"),
        ("12/31/2025", "is not a date (read as day/month/year)"),  # not a US property
        ("Dec 3 2025", "Not a date"),
    ],
)
def test_unreadable_local_date_is_a_row_error_naming_row_column_and_forms(
    in_org_a, meters, django_capture_on_commit_callbacks, cell, why
):
    content = f"meterNumber;readAt;value\nZ-1;01.01.2025;5\nZ-1;{cell};10\n".encode()
    result = upload(in_org_a, content, django_capture_on_commit_callbacks)
    assert result.status == "rejected" and not Reading.objects.exists()
    [error] = result.errors
    assert error["line"] == 3
    [[column, message]] = error["errors"]
    assert column == "readAt" and why in message
    assert "03.12.2026" in message and "2026-12-03" in message  # the accepted forms


def test_order_is_decided_by_the_property_not_by_the_row():
    # 3/12 is 3 December in Zurich and March 12 in New York, even though a day-first
    # reading of a New York row would also be a valid date
    zurich, _ = parse_local_instant("3/12/2025", ZoneInfo("Europe/Zurich"))
    new_york, _ = parse_local_instant("3/12/2025", NEW_YORK)
    assert (zurich.month, zurich.day) == (12, 3) and (new_york.month, new_york.day) == (3, 12)
    dotted, _ = parse_local_instant("3.12.2025", NEW_YORK)  # dots are day.month everywhere
    assert (dotted.month, dotted.day) == (12, 3)


def test_local_date_that_dst_skips_is_refused():
    instant, why = parse_local_instant("30.03.2025 02:30", BERLIN)
    assert instant is None and "does not exist" in why


def test_json_batch_api_stays_iso(world_a):
    with organization_context(world_a.org):
        make_meter("API-9", connected_at=datetime(2024, 1, 1, tzinfo=UTC))
    body = [{"meterNumber": "API-9", "readAt": "03.12.2025", "value": "1"}]
    response = api_client(key=world_a.write_key).post(
        "/api/v1/readings/", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (207, 400, 422)
    assert "Not an ISO date" in json.dumps(response.json())
    assert not Reading.objects.unscoped().filter(organization=world_a.org).exists()


def test_template_downloads_with_header_and_an_example_that_imports(
    world_a, django_capture_on_commit_callbacks
):
    with organization_context(world_a.org):
        make_meter("TPL-1", tz="Europe/Zurich", connected_at=datetime(2024, 1, 1, tzinfo=UTC))
    client = login_client(world_a.viewer, world_a.org)
    response = client.get("/readings/upload/template.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, row = list(csv.reader(io.StringIO(response.content.decode())))
    assert header == ["meterNumber", "readAt", "value", "quality"]
    assert row[0] == "TPL-1" and row[1].endswith(" 00:00") and "." in row[1]
    # offered where uploads are (a viewer, who cannot upload, is not offered either)
    page = login_client(world_a.operator, world_a.org).get("/readings/upload/")
    assert b"/readings/upload/template.csv" in page.content and b"03.12.2026" in page.content
    with organization_context(world_a.org):
        result = upload(world_a, response.content, django_capture_on_commit_callbacks)
        assert result.status == "done" and result.created_count == 1, result.errors


def test_template_without_meters_and_in_the_api(world_a):
    response = api_client(key=world_a.read_key).get("/api/v1/readings/uploads/template/")
    assert response.status_code == 200
    header, row = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[:3] == ["meterNumber", "readAt", "value"] and row[0] == "E-1001"
