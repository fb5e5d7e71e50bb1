"""Portal pages: list, meter page with manual entry preview, upload with report, anomalies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billspree.core.scoping import organization_context
from readings.models import Reading, ReadingAnomaly, Upload
from tests.charts_html import page_charts
from tests.conftest import login_client
from tests.readings.helpers import ingest, make_meter

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter(world_a):
    with organization_context(world_a.org):
        meter = make_meter("P-1", connected_at=datetime(2025, 1, 1, tzinfo=UTC))
        ingest(("P-1", "2025-02-01T00:00:00Z", "100"), ("P-1", "2025-03-01T00:00:00Z", "150"))
    return meter


def readings(world) -> int:
    return Reading.objects.unscoped().filter(organization=world.org).count()


def test_list_with_filters_and_empty_state(world_a, meter):
    client = login_client(world_a.viewer, world_a.org)
    page = client.get("/readings/")
    assert page.status_code == 200 and b"P-1" in page.content
    empty = client.get("/readings/", {"source": "manual"})
    assert b"No readings match these filters" in empty.content
    by_meter = client.get("/readings/", {"meter": "P-1", "start": "2025-02-15"})
    assert by_meter.content.count(b"150.0000") == 1 and b"100.0000" not in by_meter.content


def test_manual_entry_previews_then_saves(world_a, meter):
    client = login_client(world_a.operator, world_a.org)
    url = f"/readings/meters/{meter.public_id}/"
    preview = client.post(url, {"read_at": "2025-04-01T00:00", "value": "180,5", "step": "preview"})
    assert preview.status_code == 200
    assert b"Previous reading: <strong>150.0000</strong>" in preview.content
    assert b"Implied consumption: <strong>30.5 kWh</strong>" in preview.content
    assert readings(world_a) == 2
    saved = client.post(url, {"read_at": "2025-04-01T00:00", "value": "180,5", "step": "save"})
    assert saved.status_code == 302
    with organization_context(world_a.org):
        stored = Reading.objects.get(meter=meter, read_at=datetime(2025, 3, 31, 22, tzinfo=UTC))
    assert (stored.value, stored.source) == (Decimal("180.5"), "manual")


def test_manual_entry_rejects_lower_value_and_saves_nothing(world_a, meter):
    client = login_client(world_a.operator, world_a.org)
    response = client.post(
        f"/readings/meters/{meter.public_id}/",
        {"read_at": "2025-04-01T00:00", "value": "90", "step": "save"},
    )
    assert response.status_code == 400
    assert b"Lower than the previous reading 150" in response.content
    assert readings(world_a) == 2


def test_viewer_cannot_enter_or_upload(world_a, meter):
    client = login_client(world_a.viewer, world_a.org)
    assert (
        client.post(
            f"/readings/meters/{meter.public_id}/",
            {"read_at": "2025-04-01T00:00", "value": "200", "step": "save"},
        ).status_code
        == 403
    )
    assert (
        client.post("/readings/upload/", {"file": SimpleUploadedFile("a.csv", b"x")}).status_code
        == 403
    )
    assert readings(world_a) == 2


def test_upload_page_shows_progress_and_every_bad_row(
    world_a, meter, django_capture_on_commit_callbacks
):
    client = login_client(world_a.operator, world_a.org)
    content = (
        b"meterNumber;readAt;value\nP-1;2025-04-01;200\nP-1;2025-05-01;oops\nX-9;2025-05-01;1\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/readings/upload/",
            {"file": SimpleUploadedFile("april.csv", content), "all_or_nothing": "on"},
        )
    assert response.status_code == 302
    detail = client.get(response["Location"])
    assert b"Nothing was imported because 2 rows are bad" in detail.content
    assert (
        b'data-testid="error-report"' in detail.content
        and b"No meter with number" in detail.content
    )
    upload = Upload.objects.unscoped().get(filename="april.csv")
    progress = client.get(f"/readings/uploads/{upload.public_id}/progress/")
    assert b'aria-valuenow="100"' in progress.content and b"hx-get" not in progress.content
    report = client.get(f"/readings/uploads/{upload.public_id}/errors.csv")
    assert report["Content-Type"] == "text/csv"
    assert report.content.decode().splitlines()[1].startswith("3,P-1,value,Not a number")
    assert readings(world_a) == 2


def test_anomaly_confirm_and_correct(world_a, meter):
    with organization_context(world_a.org):
        ingest(*[("P-1", f"2025-03-{d:02d}T00:00:00Z", str(150 + d)) for d in range(2, 20)])
        ingest(("P-1", "2025-03-20T00:00:00Z", "9000"), ("P-1", "2025-03-21T00:00:00Z", "9500"))
    client = login_client(world_a.operator, world_a.org)
    page = client.get("/readings/anomalies/")
    assert b"more than 10" in page.content
    first, second = ReadingAnomaly.objects.unscoped().order_by("read_at")
    client.post(f"/readings/anomalies/{first.public_id}/review/", {"action": "confirm"})
    client.post(
        f"/readings/anomalies/{second.public_id}/review/", {"action": "correct", "value": "9010"}
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("confirmed", "corrected")
    with organization_context(world_a.org):
        fixed = Reading.objects.get(meter=meter, read_at=datetime(2025, 3, 21, tzinfo=UTC))
    assert (fixed.value, fixed.quality, fixed.is_anomaly) == (Decimal("9010"), "corrected", False)


def test_meter_page_shows_local_times_and_monthly_chart(world_a, meter):
    page = login_client(world_a.viewer, world_a.org).get(f"/readings/meters/{meter.public_id}/")
    assert page.status_code == 200
    assert b"1 Feb 2025 01:00" in page.content  # 00:00 UTC in Europe/Berlin
    charts = page_charts(page.content)
    months = charts[f"meter-{meter.public_id}-months"]
    assert months["unit"] == meter.unit and len(months["labels"]) == 12
    assert months["so_far"][-1] and months["labels"][-1].endswith(", so far")
    assert b"Enter a reading" in page.content
    assert b"Operators, managers and admins can enter readings" in page.content


def test_dashboard_cards(world_a, meter):
    page = login_client(world_a.viewer, world_a.org).get("/")
    assert b"Meters read in 24 h" in page.content and b"Anomalies to review" in page.content
