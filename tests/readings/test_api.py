"""The REST paths: batch with Idempotency-Key, list, consumption, CSV upload and status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billspree.core.scoping import organization_context
from readings.models import Reading, Upload
from tests.conftest import api_client
from tests.readings.helpers import T0, make_meter

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter(world_a):
    with organization_context(world_a.org):
        return make_meter("API-1", connected_at=datetime(2024, 1, 1, tzinfo=UTC))


def batch(n: int = 3, start: int = 0) -> list[dict]:
    return [
        {
            "meterNumber": "API-1",
            "readAt": (T0 + timedelta(days=d)).isoformat(),
            "value": str(d * 10),
        }
        for d in range(start, start + n)
    ]


def post(client, body, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        "/api/v1/readings/", data=json.dumps(body), content_type="application/json", **headers
    )


def count(world) -> int:
    return Reading.objects.unscoped().filter(organization=world.org).count()


def test_batch_creates_and_reports_per_item(world_a, meter):
    body = batch(3) + [{"meterNumber": "NOPE", "readAt": "2025-01-05", "value": "1"}]
    response = post(api_client(key=world_a.write_key), body)
    assert response.status_code == 207  # partly accepted: the status says so
    data = response.json()
    assert data["counts"]["created"] == 3 and data["counts"]["rejected"] == 1
    assert data["summary"] == {"received": 4, "accepted": 3, "duplicates": 0, "rejected": 1,
                               "not_imported": 0}
    assert data["results"][3]["index"] == 3
    assert data["results"][3]["errors"][0]["field"] == "meterNumber"
    assert count(world_a) == 3


def test_resubmission_with_idempotency_key_replays_and_creates_nothing(world_a, meter):
    client = api_client(key=world_a.write_key)
    first = post(client, batch(5), key="k-1")
    uploads = Upload.objects.unscoped().count()
    assert first.status_code == 200 and first.json()["summary"]["accepted"] == 5
    again = post(client, batch(5), key="k-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert count(world_a) == 5 and Upload.objects.unscoped().count() == uploads
    other_body = post(client, batch(2), key="k-1")
    assert other_body.status_code == 409
    repeat = post(client, batch(5))
    assert repeat.status_code == 200  # an idempotent repeat is not an error
    without_key = repeat.json()
    assert without_key["summary"] == {"received": 5, "accepted": 0, "duplicates": 5,
                                      "rejected": 0, "not_imported": 0}
    assert without_key["counts"] == {
        "created": 0,
        "unchanged": 5,
        "replaced": 0,
        "rejected": 0,
        "anomalies": 0,
    }


def test_atomic_batch_changes_nothing_on_a_bad_item(world_a, meter):
    body = {
        "readings": batch(3) + [{"meterNumber": "API-1", "readAt": "2025-02-01", "value": "-1"}],
        "atomic": True,
    }
    response = post(api_client(key=world_a.write_key), body)
    assert response.status_code == 422
    data = response.json()
    assert data["committed"] is False
    assert data["summary"] == {"received": 4, "accepted": 0, "duplicates": 0, "rejected": 1,
                               "not_imported": 3}
    assert data["error"]["code"] == "readings_rejected"
    assert "readings[3].value" in data["error"]["fields"]
    assert "nothing was stored" in data["error"]["message"]
    assert [r["status"] for r in data["results"]] == ["not_imported"] * 3 + ["rejected"]
    assert count(world_a) == 0


def test_a_batch_with_every_row_rejected_is_a_422_naming_the_rows(world_a, meter):
    body = [{"meterNumber": "NOPE", "readAt": "2025-01-05", "value": "1"},
            {"meterNumber": "API-1", "readAt": "2025-01-05", "value": "abc"}]
    response = post(api_client(key=world_a.write_key), body)
    assert response.status_code == 422
    data = response.json()
    assert data["summary"] == {"received": 2, "accepted": 0, "duplicates": 0, "rejected": 2,
                               "not_imported": 0}
    error = data["error"]
    assert error["status"] == 422 and error["code"] == "readings_rejected"
    assert set(error["fields"]) == {"readings[0].meterNumber", "readings[1].value"}
    assert "readings[0].meterNumber" in error["message"]
    assert [r["status"] for r in data["results"]] == ["rejected", "rejected"]
    assert count(world_a) == 0


def test_partial_acceptance_is_207_and_a_replay_answers_the_same(world_a, meter):
    client = api_client(key=world_a.write_key)
    body = batch(2) + [{"meterNumber": "API-1", "readAt": "2025-01-09", "value": "-5"}]
    first = post(client, body, key="k-207")
    assert first.status_code == 207 and "error" not in first.json()
    assert first.json()["summary"]["accepted"] == 2 and first.json()["summary"]["rejected"] == 1
    replay = post(client, body, key="k-207")
    assert replay.status_code == 207 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    repeat = post(client, body)  # without the key: the good rows are duplicates now
    assert repeat.status_code == 207
    assert repeat.json()["summary"] == {"received": 3, "accepted": 0, "duplicates": 2,
                                        "rejected": 1, "not_imported": 0}
    assert count(world_a) == 2


def test_a_row_repeated_inside_a_batch_is_a_duplicate(world_a, meter):
    response = post(api_client(key=world_a.write_key), batch(1) + batch(1))
    assert response.status_code == 200
    assert response.json()["summary"] == {"received": 2, "accepted": 1, "duplicates": 1,
                                          "rejected": 0, "not_imported": 0}


def test_batch_limit_and_shape(world_a, meter):
    client = api_client(key=world_a.write_key)
    assert post(client, {"nope": 1}).status_code == 400
    too_many = post(client, [{}] * 10_001)
    assert too_many.status_code == 400 and "10000" in too_many.json()["error"]["message"] + str(
        too_many.json()
    )


def test_viewer_key_cannot_post(world_a, meter):
    assert post(api_client(key=world_a.read_key), batch(1)).status_code == 403
    assert count(world_a) == 0


def test_list_readings_of_a_meter_between_two_instants(world_a, meter):
    client = api_client(key=world_a.write_key)
    post(client, batch(10))
    response = client.get(
        "/api/v1/readings/",
        {"meter": "API-1", "from": "2025-01-03T00:00:00Z", "to": "2025-01-06T00:00:00Z"},
    )
    assert response.status_code == 200
    assert [r["value"] for r in response.json()["results"]] == ["40.0000", "30.0000", "20.0000"]
    by_id = client.get("/api/v1/readings/", {"meter": str(meter.public_id)}).json()
    assert by_id["count"] == 10
    assert client.get("/api/v1/readings/").status_code == 400


def test_other_organizations_meter_is_not_listed(world_a, world_b, meter):
    response = api_client(key=world_b.read_key).get(
        "/api/v1/readings/", {"meter": str(meter.public_id)}
    )
    assert (
        response.status_code == 400 and "No meter" in response.json()["error"]["fields"]["meter"][0]
    )


def test_consumption_endpoint(world_a, meter):
    client = api_client(key=world_a.write_key)
    post(client, batch(10))
    data = client.get(
        "/api/v1/readings/consumption/",
        {"meter": "API-1", "from": "2025-01-02T12:00:00Z", "to": "2025-01-04T12:00:00Z"},
    ).json()
    # both boundaries lie 12 h from the daily readings: interpolated, so flagged estimated
    # (issue 13 §3: as the invoice flags it), with the readings each value came from
    assert data["quantity"] == "20.0000" and data["estimated"] is True
    [seg] = data["segments"]
    assert (seg["start"]["basis"], seg["start"]["value"]) == ("interpolated", "15.0000")
    assert [r["value"] for r in seg["start"]["readings"]] == ["10.0000", "20.0000"]
    assert Decimal(seg["end"]["value"]) - Decimal(seg["start"]["value"]) == Decimal("20")
    # on the readings themselves nothing is interpolated: not flagged
    data = client.get(
        "/api/v1/readings/consumption/",
        {"meter": "API-1", "from": T0.isoformat(), "to": (T0 + timedelta(days=2)).isoformat()},
    ).json()
    assert data["quantity"] == "20.0000" and data["estimated"] is False
    assert data["segments"][0]["start"]["basis"] == "read"


def test_csv_upload_and_status(world_a, meter, django_capture_on_commit_callbacks):
    client = api_client(key=world_a.write_key)
    csv = b"meterNumber;readAt;value\nAPI-1;2025-01-01;1,5\nAPI-1;2025-01-02;2,5\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/readings/uploads/",
            {"file": SimpleUploadedFile("r.csv", csv)},
            format="multipart",
        )
    assert response.status_code == 202
    status = client.get(f"/api/v1/readings/uploads/{response.json()['id']}/").json()
    assert status["status"] == "done" and status["created_count"] == 2 and status["progress"] == 100
    assert count(world_a) == 2


def test_consumption_chart_endpoint_reads_the_rollups(world_a, world_b, meter):
    client = api_client(key=world_a.write_key)
    post(client, batch(10))  # 00:00 UTC daily, 10 a day; Berlin days end at 23:00 UTC
    days = client.get(
        "/api/v1/readings/consumption/chart/",
        {"meter": "API-1", "from": "2025-01-01", "to": "2025-01-31"},
    ).json()
    assert days["interval"] == "day" and days["unit"] == "kWh"
    assert [r["day"] for r in days["results"]] == [f"2025-01-0{d}" for d in range(1, 10)]
    assert days["results"][4] == {"day": "2025-01-05", "quantity": "10.0000"}
    months = client.get(
        "/api/v1/readings/consumption/chart/",
        {"meter": str(meter.public_id), "interval": "month", "from": "2025-01-01"},
    ).json()
    total = sum(float(r["quantity"]) for r in days["results"])
    assert months["results"] == [{"month": "2025-01-01", "quantity": f"{total:.4f}"}]
    bad = client.get("/api/v1/readings/consumption/chart/", {"meter": "API-1", "interval": "y"})
    assert bad.status_code == 400 and "interval" in bad.json()["error"]["fields"]
    other = api_client(key=world_b.read_key).get(
        "/api/v1/readings/consumption/chart/", {"meter": str(meter.public_id)}
    )
    assert other.status_code == 400 and "No meter" in other.json()["error"]["fields"]["meter"][0]
