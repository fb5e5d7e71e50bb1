"""REST API of the meter registry, including the seed's Meter Assignment API."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billspree.core.scoping import organization_context
from meters import services
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from tests.conftest import api_client
from tests.meters.factories import make_registry

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(world_a):
    with organization_context(world_a.org):
        return make_registry()


@pytest.fixture
def client(world_a):
    return api_client(key=world_a.write_key)


def post(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def _state(org):
    with organization_context(org):
        return (
            list(
                MeterAssignment.objects.order_by("pk").values_list(
                    "meter_id", "removed_at", "final_reading"
                )
            ),
            Meter.objects.count(),
            BillingPoint.objects.count(),
        )


# --- properties, billing points, meters -------------------------------------------------


def test_property_crud(client, world_a):
    r = post(
        client,
        "/api/v1/properties/",
        {
            "name": "Seeblick",
            "kind": "apartments",
            "time_zone": "Europe/Zurich",
            "currency": "CHF",
        },
    )
    assert r.status_code == 201, r.json()
    pid = r.json()["id"]
    assert r.json()["time_zone"] == "Europe/Zurich" and r.json()["currency"] == "CHF"
    r = client.patch(f"/api/v1/properties/{pid}/", data={"address": "Seestrasse 4"}, format="json")
    assert r.status_code == 200 and r.json()["address"] == "Seestrasse 4"
    r = post(client, "/api/v1/properties/", {"name": "X", "time_zone": "Mars/Olympus"})
    assert r.status_code == 400 and "time_zone" in r.json()["error"]["fields"]
    assert client.delete(f"/api/v1/properties/{pid}/").status_code == 204
    with organization_context(world_a.org):
        assert not Property.objects.filter(public_id=pid).exists()


def test_property_with_billing_points_cannot_be_deleted(client, reg):
    prop = reg[0]
    r = client.delete(f"/api/v1/properties/{prop.public_id}/")
    assert r.status_code == 409
    assert "billing points" in r.json()["error"]["message"]


def test_billing_point_accepts_connection_id_alias(client, reg):
    prop = reg[0]
    r = post(
        client,
        "/api/v1/connections/",
        {
            "property": str(prop.public_id),
            "connectionID": "CN-42",
            "name": "Shop 42",
            "kind": "shop",
            "area_m2": "55.30",
        },
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["connection_id"] == body["connectionID"] == "CN-42"
    assert body["area_m2"] == "55.30"
    r = post(
        client,
        "/api/v1/billing-points/",
        {"property": str(prop.public_id), "connection_id": "CN-42", "name": "Dup"},
    )
    assert r.status_code == 400 and "connection_id" in r.json()["error"]["fields"]


def test_meter_create_unit_checked_against_type(client, world_a):
    before = _state(world_a.org)
    r = post(
        client, "/api/v1/meters/", {"serial_number": "E-77", "type": "electricity", "unit": "m³"}
    )
    assert r.status_code == 400
    assert "unit" in r.json()["error"]["fields"]
    assert _state(world_a.org) == before
    r = post(client, "/api/v1/meters/", {"serial_number": "E-77", "type": "electricity"})
    assert r.status_code == 201
    assert r.json()["unit"] == "kWh" and r.json()["status"] == "inactive"


def test_meter_serial_cannot_change_but_label_can(client, reg):
    meter = reg[2][MeterType.GAS]
    url = f"/api/v1/meters/{meter.public_id}/"
    r = client.patch(url, data={"serial_number": "OTHER"}, format="json")
    assert r.status_code == 400 and "serial_number" in r.json()["error"]["fields"]
    r = client.patch(url, data={"label": "Boiler room"}, format="json")
    assert r.status_code == 200 and r.json()["label"] == "Boiler room"
    assert r.json()["serial_number"] == meter.serial_number


def test_inactive_water_filter_matches_cold_and_hot(client, reg, world_a):
    _, bp, meters = reg
    with organization_context(world_a.org):
        services.meter_assign(
            billing_point=bp, meter=meters[MeterType.HOT_WATER], connected_at=date(2026, 1, 1)
        )
        services.meter_create(type=MeterType.COLD_WATER, serial_number="CW-2")
    r = client.get("/api/v1/meters/?status=inactive&type=water")
    assert r.status_code == 200
    serials = {m["serial_number"] for m in r.json()["results"]}
    assert serials == {meters[MeterType.COLD_WATER].serial_number, "CW-2"}
    r = client.get("/api/v1/meters/?status=active")
    assert [m["connectionID"] for m in r.json()["results"]] == [bp.connection_id]
    r = client.get("/api/v1/meters/?type=plutonium")
    assert r.status_code == 400 and "type" in r.json()["error"]["fields"]


def test_meter_list_query_count_is_pinned(client, reg, world_a, django_assert_max_num_queries):
    _, bp, _ = reg
    with organization_context(world_a.org):
        for i in range(20):
            m = services.meter_create(type=MeterType.HEAT, serial_number=f"HQ-{i}")
            services.meter_assign(billing_point=bp, meter=m, connected_at=date(2026, 1, 1))
    for url in (
        "/api/v1/meters/",
        "/api/v1/billing-points/",
        "/api/v1/properties/",
        "/api/v1/meter-assignments/",
    ):
        with django_assert_max_num_queries(8):
            r = client.get(url)
        assert r.status_code == 200


def test_meter_csv_import_all_or_nothing(client, world_a):
    bad = "serial;type;unit;multiplier\nA-1;electric;kWh;1\nA-2;water;;\nA-3;gas;kWh;x\n"
    r = post(client, "/api/v1/meters/import/", {"csv": bad})
    assert r.status_code == 400
    errors = r.json()["error"]["fields"]["file"]
    assert any("line 3, column type" in e and "ambiguous" in e for e in errors)
    assert any("line 4, column multiplier" in e for e in errors)
    assert _state(world_a.org)[1] == 0
    good = "serial,type,label\nA-1,Electricity,Main\nA-2,cold water,Kitchen\n"
    r = post(client, "/api/v1/meters/import/", {"csv": good})
    assert r.status_code == 201 and len(r.json()) == 2


# --- the Meter Assignment API -----------------------------------------------------------


def test_assign_with_seed_fields(client, reg, world_a):
    _, bp, meters = reg
    r = post(
        client,
        "/api/v1/meter-assignments/",
        {
            "connectionID": bp.connection_id,
            "meterNumber": meters[MeterType.GAS].serial_number,
            "connectionDate": "2026-03-01",
            "status": "active",
            "initialReading": "42.5",
        },
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["status"] == "active" and body["connectionID"] == bp.connection_id
    assert body["initialReading"] == "42.5000"
    assert datetime.fromisoformat(body["connectionDate"]) == datetime(2026, 3, 1, tzinfo=BERLIN)
    r = client.get(f"/api/v1/meter-assignments/{body['id']}/")
    assert r.status_code == 200 and r.json()["meterNumber"] == meters[MeterType.GAS].serial_number
    r = client.get("/api/v1/meter-assignments/?status=active")
    assert r.json()["count"] == 1


def test_unknown_meter_number_and_connection_id_are_400_naming_the_field(client, reg, world_a):
    _, bp, meters = reg
    before = _state(world_a.org)
    r = post(
        client,
        "/api/v1/meter-assignments/",
        {
            "connectionID": "NOPE",
            "meterNumber": "NOPE-2",
            "connectionDate": "2026-03-01",
            "status": "active",
        },
    )
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert "NOPE" in fields["connectionID"][0] and "NOPE-2" in fields["meterNumber"][0]
    r = post(
        client,
        "/api/v1/meter-assignments/",
        {
            "connectionID": bp.connection_id,
            "meterNumber": meters[MeterType.GAS].serial_number,
            "connectionDate": "first of March",
            "status": "active",
        },
    )
    assert r.status_code == 400 and "connectionDate" in r.json()["error"]["fields"]
    assert _state(world_a.org) == before


def test_already_active_is_409_naming_the_billing_point(client, reg, world_a):
    prop, bp, meters = reg
    meter = meters[MeterType.ELECTRICITY]
    with organization_context(world_a.org):
        other = services.billing_point_create(property=prop, connection_id="SHOP-3", name="Shop 3")
        services.meter_assign(billing_point=other, meter=meter, connected_at=date(2026, 1, 1))
    before = _state(world_a.org)
    r = post(
        client,
        "/api/v1/meter-assignments/",
        {
            "connectionID": bp.connection_id,
            "meterNumber": meter.serial_number,
            "connectionDate": "2026-03-01",
            "status": "active",
        },
    )
    assert r.status_code == 409
    assert "Shop 3" in r.json()["error"]["message"] and "SHOP-3" in r.json()["error"]["message"]
    assert "meterNumber" in r.json()["error"]["fields"]
    assert _state(world_a.org) == before


def test_connection_before_last_removal_is_400_naming_connection_date(client, reg, world_a):
    _, bp, meters = reg
    meter = meters[MeterType.ELECTRICITY]
    with organization_context(world_a.org):
        a = services.meter_assign(billing_point=bp, meter=meter, connected_at=date(2026, 1, 1))
        services.meter_remove(assignment=a, removed_at=date(2026, 5, 1), final_reading=9)
    before = _state(world_a.org)
    r = post(
        client,
        "/api/v1/meter-assignments/",
        {
            "connectionID": bp.connection_id,
            "meterNumber": meter.serial_number,
            "connectionDate": "2026-04-01",
            "status": "active",
        },
    )
    assert r.status_code == 400
    assert "1 May 2026" in r.json()["error"]["fields"]["connectionDate"][0]
    # a past period overlapping the recorded one
    r = post(
        client,
        "/api/v1/meter-assignments/",
        {
            "connectionID": bp.connection_id,
            "meterNumber": meter.serial_number,
            "connectionDate": "2025-12-01",
            "status": "inactive",
            "removalDate": "2026-02-01",
            "finalReading": "3",
        },
    )
    assert r.status_code == 409 and "overlaps" in r.json()["error"]["message"]
    assert "connectionDate" in r.json()["error"]["fields"]
    r = post(
        client,
        "/api/v1/meter-assignments/",
        {
            "connectionID": bp.connection_id,
            "meterNumber": meter.serial_number,
            "connectionDate": "2025-12-01",
            "status": "inactive",
        },
    )
    assert r.status_code == 400
    assert {"removalDate", "finalReading"} <= set(r.json()["error"]["fields"])
    assert _state(world_a.org) == before


def test_close_and_replace_actions(client, reg, world_a):
    _, bp, meters = reg
    with organization_context(world_a.org):
        a = services.meter_assign(
            billing_point=bp, meter=meters[MeterType.ELECTRICITY], connected_at=date(2026, 1, 1)
        )
        g = services.meter_assign(
            billing_point=bp, meter=meters[MeterType.GAS], connected_at=date(2026, 1, 1)
        )
        new = services.meter_create(type=MeterType.ELECTRICITY, serial_number="E-NEW")
    r = post(
        client,
        f"/api/v1/meter-assignments/{g.public_id}/close/",
        {"finalReading": "88", "removalDate": "2026-02-01"},
    )
    assert r.status_code == 200 and r.json()["status"] == "inactive"
    assert r.json()["finalReading"] == "88.0000"
    r = post(
        client,
        f"/api/v1/meter-assignments/{g.public_id}/close/",
        {"finalReading": "90", "removalDate": "2026-03-01"},
    )
    assert r.status_code == 409
    before = _state(world_a.org)
    r = post(
        client,
        f"/api/v1/meter-assignments/{a.public_id}/replace/",
        {
            "newMeterNumber": meters[MeterType.GAS].serial_number,
            "replacementDate": "2026-06-01",
            "finalReading": "500",
        },
    )
    assert r.status_code == 400 and "newMeterNumber" in r.json()["error"]["fields"]
    r = post(
        client,
        f"/api/v1/meter-assignments/{a.public_id}/replace/",
        {"newMeterNumber": "E-NEW", "replacementDate": "2025-06-01", "finalReading": "500"},
    )
    assert r.status_code == 400 and "replacementDate" in r.json()["error"]["fields"]
    assert _state(world_a.org) == before
    r = post(
        client,
        f"/api/v1/meter-assignments/{a.public_id}/replace/",
        {
            "newMeterNumber": "E-NEW",
            "replacementDate": "2026-06-01",
            "finalReading": "500",
            "initialReading": "1",
        },
    )
    assert r.status_code == 201, r.json()
    assert r.json()["meterNumber"] == "E-NEW" and r.json()["status"] == "active"
    with organization_context(world_a.org):
        a.refresh_from_db()
        assert a.final_reading == Decimal("500")
        assert a.removed_at.isoformat() == r.json()["connectionDate"].replace("Z", "+00:00") or (
            a.removed_at == datetime.fromisoformat(r.json()["connectionDate"])
        )
        assert new.assignments.get().initial_reading == Decimal("1")


def test_viewer_key_cannot_assign(reg, world_a):
    _, bp, meters = reg
    r = post(
        api_client(key=world_a.read_key),
        "/api/v1/meter-assignments/",
        {
            "connectionID": bp.connection_id,
            "meterNumber": meters[MeterType.GAS].serial_number,
            "connectionDate": "2026-03-01",
            "status": "active",
        },
    )
    assert r.status_code == 403


def test_other_organizations_meter_is_unknown(reg, world_a, world_b, client):
    _, bp, _ = reg
    with organization_context(world_b.org):
        foreign = services.meter_create(type=MeterType.GAS, serial_number="B-GAS-1")
    r = post(
        client,
        "/api/v1/meter-assignments/",
        {
            "connectionID": bp.connection_id,
            "meterNumber": foreign.serial_number,
            "connectionDate": "2026-03-01",
            "status": "active",
        },
    )
    assert r.status_code == 400 and "meterNumber" in r.json()["error"]["fields"]
    assert client.get(f"/api/v1/meters/{foreign.public_id}/").status_code == 404


def test_schema_documents_the_assignment_api(client):
    r = client.get("/api/v1/schema/?format=json")
    assert r.status_code == 200
    schema = r.json()
    assert "/api/v1/meter-assignments/" in schema["paths"]
    assert "/api/v1/meter-assignments/{id}/close/" in schema["paths"]
    create = schema["components"]["schemas"]["MeterAssignmentCreateRequest"]
    assert {"connectionID", "meterNumber", "connectionDate", "status"} <= set(create["properties"])


def test_status_is_right_for_each_organization_in_turn(world_a, world_b):
    """Guards the per-request queryset: a class-level one would keep the first
    organization's id inside its status subquery."""
    for world in (world_a, world_b):
        with organization_context(world.org):
            _, bp, meters = make_registry()
            services.meter_assign(
                billing_point=bp, meter=meters[MeterType.GAS], connected_at=date(2026, 1, 1)
            )
    for world in (world_a, world_b, world_a):
        r = api_client(key=world.read_key).get("/api/v1/meters/?status=active")
        assert [m["serial_number"] for m in r.json()["results"]] == ["TEST-GAS-1"]
        r = api_client(key=world.read_key).get("/api/v1/billing-points/")
        assert r.json()["results"][0]["active_meter_count"] == 1


def test_retried_assignment_and_close_are_idempotent(client, reg, world_a):
    _, bp, meters = reg
    payload = {
        "connectionID": bp.connection_id,
        "meterNumber": meters[MeterType.GAS].serial_number,
        "connectionDate": "2026-03-01",
        "status": "active",
        "initialReading": "5",
    }
    first = post(client, "/api/v1/meter-assignments/", payload)
    again = post(client, "/api/v1/meter-assignments/", payload)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    different = post(client, "/api/v1/meter-assignments/", {**payload, "initialReading": "6"})
    assert different.status_code == 409
    url = f"/api/v1/meter-assignments/{first.json()['id']}/close/"
    close = {"finalReading": "9", "removalDate": "2026-04-01"}
    assert post(client, url, close).status_code == 200
    assert post(client, url, close).status_code == 200
    assert post(client, url, {**close, "finalReading": "10"}).status_code == 409
    with organization_context(world_a.org):
        assert MeterAssignment.objects.filter(meter=meters[MeterType.GAS]).count() == 1


def test_assignment_list_filters_in_seed_vocabulary(client, reg, world_a):
    prop, bp, meters = reg
    with organization_context(world_a.org):
        other = services.billing_point_create(property=prop, connection_id="SHOP-7", name="Shop 7")
        a = services.meter_assign(
            billing_point=bp, meter=meters[MeterType.GAS], connected_at=date(2026, 1, 1)
        )
        services.meter_remove(assignment=a, removed_at=date(2026, 2, 1), final_reading=3)
        services.meter_assign(
            billing_point=other, meter=meters[MeterType.GAS], connected_at=date(2026, 2, 1)
        )
    r = client.get(f"/api/v1/meter-assignments/?connectionID={bp.connection_id}")
    assert [x["status"] for x in r.json()["results"]] == ["inactive"]
    r = client.get(
        f"/api/v1/meter-assignments/?meterNumber={meters[MeterType.GAS].serial_number}"
        "&status=active"
    )
    assert [x["connectionID"] for x in r.json()["results"]] == ["SHOP-7"]
    r = client.get("/api/v1/meter-assignments/?status=bogus")
    assert r.status_code == 400 and "status" in r.json()["error"]["fields"]


def test_meter_import_accepts_a_multipart_file(client, world_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("meters.csv", b"serial;type;unit\nH-1;heat;MWh\n", "text/csv")
    r = client.post("/api/v1/meters/import/", {"file": upload}, format="multipart")
    assert r.status_code == 201, r.json()
    assert [(m["serial_number"], m["unit"], m["status"]) for m in r.json()] == [
        ("H-1", "MWh", "inactive")
    ]
    r = client.post("/api/v1/meters/import/", {}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()["error"]["fields"]
