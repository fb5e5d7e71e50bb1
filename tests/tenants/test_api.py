"""The tenants REST API: tenants, ownership, occupancies, moves, badges, their errors."""

from __future__ import annotations

from datetime import datetime

import pytest

from billspree.core.scoping import organization_context
from tenants import services
from tenants.models import BadgeAssignment, Move, Occupancy, Tenant
from tests.conftest import api_client
from tests.tenants.factories import BERLIN, make_billing_point, make_meter, make_tenant


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


@pytest.fixture
def setup(world_a):
    with organization_context(world_a.org):
        flat = make_billing_point(name="Apartment Rez Gauche")
        blumer = make_tenant(name="Mr Blumer")
        owner = make_tenant(name="Owner SA", kind="company")
        services.ownership_set(owner=owner, property=flat.property)
    return world_a, flat, blumer, owner


@pytest.fixture
def writer(world_a):
    return api_client(key=world_a.write_key)


def test_create_tenant_and_search(setup, writer):
    response = writer.post(
        "/api/v1/tenants/",
        {"name": "ACME AG", "kind": "company", "contact_person": "Ms Frei", "language": "de"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["customer_number"].startswith("C") and body["id"]
    found = writer.get("/api/v1/tenants/?search=acme").json()
    assert [t["name"] for t in found["results"]] == ["ACME AG"]


def test_tenant_bad_input_names_the_field(setup, writer):
    response = writer.post(
        "/api/v1/tenants/", {"name": "X", "email": "nope", "language": "xx"}, format="json"
    )
    assert response.status_code == 400
    assert {"email", "language"} <= set(error_of(response)["fields"])


def test_viewer_key_cannot_write(setup, world_a):
    reader = api_client(key=world_a.read_key)
    assert reader.get("/api/v1/tenants/").status_code == 200
    assert reader.post("/api/v1/tenants/", {"name": "X"}, format="json").status_code == 403


def test_occupancy_with_a_plain_date_is_property_midnight(setup, writer):
    world, flat, blumer, _ = setup
    response = writer.post(
        "/api/v1/occupancies/",
        {
            "tenant": str(blumer.public_id),
            "billing_point": str(flat.public_id),
            "move_in": "2021-12-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    # the API's one form: UTC with Z (local midnight of 1 Dec in Zurich)
    assert response.json()["move_in"] == "2021-11-30T23:00:00Z"


@pytest.mark.parametrize("field", ["tenant", "billing_point"])
def test_unknown_ids_answer_400_naming_the_field(setup, writer, field):
    _, flat, blumer, _ = setup
    payload = {
        "tenant": str(blumer.public_id),
        "billing_point": str(flat.public_id),
        "move_in": "2022-01-01",
    }
    payload[field] = "00000000-0000-0000-0000-000000000007"
    response = writer.post("/api/v1/occupancies/", payload, format="json")
    assert response.status_code == 400
    assert "in this organization" in error_of(response)["fields"][field][0]


def test_naive_timestamp_is_refused(setup, writer):
    _, flat, blumer, _ = setup
    response = writer.post(
        "/api/v1/occupancies/",
        {
            "tenant": str(blumer.public_id),
            "billing_point": str(flat.public_id),
            "move_in": "2022-01-01T10:00:00",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "offset" in error_of(response)["fields"]["move_in"][0]


def test_overlap_is_409_naming_tenant_and_dates_and_changes_nothing(setup, writer):
    world, flat, blumer, _ = setup
    with organization_context(world.org):
        services.occupancy_create(
            tenant=blumer, billing_point=flat, move_in=at(2021, 12, 1), move_out=at(2022, 6, 1)
        )
        other = make_tenant(name="Ms Keller")
    response = writer.post(
        "/api/v1/occupancies/",
        {
            "tenant": str(other.public_id),
            "billing_point": str(flat.public_id),
            "move_in": "2022-05-01",
        },
        format="json",
    )
    assert response.status_code == 409
    error = error_of(response)
    assert "Mr Blumer" in error["message"]
    assert "1 Dec 2021 – 31 May 2022" in error["message"]  # inclusive local days
    assert "move_in" in error["fields"]
    with organization_context(world.org):
        assert Occupancy.objects.count() == 1


def test_end_an_occupancy(setup, writer):
    world, flat, blumer, _ = setup
    with organization_context(world.org):
        occ = services.occupancy_create(tenant=blumer, billing_point=flat, move_in=at(2021, 12, 1))
    response = writer.post(
        f"/api/v1/occupancies/{occ.public_id}/end/", {"move_out": "2022-06-01"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["move_out"] == "2022-05-31T22:00:00Z"


def test_occupants_segments_over_a_period(setup, writer):
    world, flat, blumer, _ = setup
    with organization_context(world.org):
        services.occupancy_create(tenant=blumer, billing_point=flat, move_in=at(2022, 3, 1))
    response = writer.get(
        "/api/v1/occupancies/occupants/",
        {"billing_point": str(flat.public_id), "start": "2022-01-01", "end": "2022-07-01"},
    )
    assert response.status_code == 200, response.json()
    segments = response.json()
    assert [(s["tenant"]["name"], s["vacancy"]) for s in segments] == [
        ("Owner SA", True),
        ("Mr Blumer", False),
    ]
    assert segments[0]["end"] == segments[1]["start"]


def test_register_a_move_with_readings(setup, writer):
    world, flat, blumer, _ = setup
    with organization_context(world.org):
        services.occupancy_create(tenant=blumer, billing_point=flat, move_in=at(2021, 12, 1))
        make_meter(flat, at(2021, 1, 1), serial="E-100")
        keller = make_tenant(name="Ms Keller")
    response = writer.post(
        "/api/v1/moves/",
        {
            "billing_point": str(flat.public_id),
            "moved_at": "2022-07-01",
            "incoming_tenant": str(keller.public_id),
            "readings": {"E-100": "4321.5"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outgoing_tenant"]["name"] == "Mr Blumer"
    assert body["incoming"]["name"] == "Ms Keller" and body["vacancy"] is False
    assert body["readings"] == {"E-100": "4321.5"}


def test_move_into_vacancy(setup, writer):
    world, flat, blumer, _ = setup
    with organization_context(world.org):
        services.occupancy_create(tenant=blumer, billing_point=flat, move_in=at(2021, 12, 1))
    response = writer.post(
        "/api/v1/moves/",
        {"billing_point": str(flat.public_id), "moved_at": "2022-07-01", "incoming_tenant": None},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["vacancy"] is True and response.json()["incoming"] is None


def test_failed_move_answers_400_and_writes_nothing(setup, writer):
    world, flat, blumer, _ = setup
    with organization_context(world.org):
        services.occupancy_create(tenant=blumer, billing_point=flat, move_in=at(2021, 12, 1))
        keller = make_tenant(name="Ms Keller")
    response = writer.post(
        "/api/v1/moves/",
        {
            "billing_point": str(flat.public_id),
            "moved_at": "2022-07-01",
            "incoming_tenant": str(keller.public_id),
            "readings": {"NOPE-1": "12"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "NOPE-1" in error_of(response)["fields"]["readings"][0]
    with organization_context(world.org):
        assert Occupancy.objects.get().move_out is None
        assert not Move.objects.exists()


def test_badge_assign_twice_is_409_naming_the_holder(setup, writer):
    world, _, blumer, owner = setup
    first = writer.post(
        "/api/v1/badge-assignments/",
        {"uid": "04A2B3", "tenant": str(blumer.public_id), "assigned_at": "2022-01-01"},
        format="json",
    )
    assert first.status_code == 201, first.json()
    second = writer.post(
        "/api/v1/badge-assignments/",
        {"uid": "04a2b3", "tenant": str(owner.public_id), "assigned_at": "2022-02-01"},
        format="json",
    )
    assert second.status_code == 409
    assert "Mr Blumer" in error_of(second)["message"]
    badges = writer.get("/api/v1/badges/").json()["results"]
    assert [(b["uid"], b["holder"]["name"]) for b in badges] == [("04A2B3", "Mr Blumer")]
    back = writer.post(
        f"/api/v1/badge-assignments/{first.json()['id']}/return/",
        {"returned_at": "2022-02-01"},
        format="json",
    )
    assert back.status_code == 200, back.json()
    with organization_context(world.org):
        assert BadgeAssignment.objects.count() == 1


def test_ownership_set_replaces_the_owner(setup, writer):
    world, flat, _, _ = setup
    with organization_context(world.org):
        new_owner = make_tenant(name="New owner")
    response = writer.post(
        "/api/v1/ownerships/",
        {"owner": str(new_owner.public_id), "property": str(flat.property.public_id)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    listed = writer.get("/api/v1/ownerships/").json()["results"]
    assert [o["owner_name"] for o in listed] == ["New owner"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tenants/",
        "/api/v1/occupancies/",
        "/api/v1/moves/",
        "/api/v1/badges/",
        "/api/v1/badge-assignments/",
        "/api/v1/ownerships/",
    ],
)
def test_list_query_counts_do_not_grow_with_rows(setup, writer, url, django_assert_max_num_queries):
    world, flat, _, _ = setup

    def grow(n: int) -> None:
        with organization_context(world.org):
            for _ in range(n):
                bp = make_billing_point(prop=flat.property)
                tenant = make_tenant()
                services.occupancy_create(tenant=tenant, billing_point=bp, move_in=at(2021, 1, 1))
                services.move_register(
                    billing_point=bp, moved_at=at(2022, 1, 1), incoming_tenant=make_tenant()
                )
                services.badge_assign(
                    uid=f"B{tenant.pk}", tenant=tenant, assigned_at=at(2022, 1, 1)
                )
                services.ownership_set(owner=tenant, property=bp.property, billing_point=bp)

    grow(1)
    writer.get(url)
    with django_assert_max_num_queries(8):
        small = writer.get(url).json()["count"]
    grow(10)
    with django_assert_max_num_queries(8):
        assert writer.get(url).json()["count"] > small


def test_other_organization_tenant_is_404(setup, world_b):
    _, _, blumer, _ = setup
    other = api_client(key=world_b.write_key)
    assert other.get(f"/api/v1/tenants/{blumer.public_id}/").status_code == 404
    assert (
        other.patch(
            f"/api/v1/tenants/{blumer.public_id}/", {"name": "x"}, format="json"
        ).status_code
        == 404
    )
    with organization_context(setup[0].org):
        assert Tenant.objects.get(pk=blumer.pk).name == "Mr Blumer"


def test_connection_id_is_accepted_for_the_billing_point(setup, writer):
    _, flat, blumer, _ = setup
    response = writer.post(
        "/api/v1/occupancies/",
        {
            "tenant": str(blumer.public_id),
            "connectionID": flat.connection_id,
            "move_in": "2022-01-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["billing_point"] == str(flat.public_id)
    assert response.json()["connectionID"] == flat.connection_id
    move = writer.post(
        "/api/v1/moves/",
        {"connectionID": flat.connection_id, "moved_at": "2023-01-01"},
        format="json",
    )
    assert move.status_code == 201, move.json()
    assert move.json()["vacancy"] is True


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"connectionID": "NOPE-404"}, "connectionID"),
        ({}, "billing_point"),
    ],
)
def test_missing_or_unknown_connection_names_the_field(setup, writer, payload, field):
    _, _, blumer, _ = setup
    response = writer.post(
        "/api/v1/moves/",
        {"moved_at": "2023-01-01", "incoming_tenant": str(blumer.public_id), **payload},
        format="json",
    )
    assert response.status_code == 400
    error = error_of(response)
    assert field in error["fields"], error
    if field == "connectionID":
        assert "NOPE-404" in error["fields"][field][0]


def test_tenant_postal_address_is_accepted_and_returned(setup, writer):
    address = {"street": "Dorfweg", "building_number": "3a", "postal_code": "3000",
               "town": "Bern", "country": "ch"}
    response = writer.post("/api/v1/tenants/", {"name": "Frau Muster", **address}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in address} == {**address, "country": "CH"}
    changed = writer.patch(f"/api/v1/tenants/{body['id']}/", {"town": "Thun"}, format="json")
    assert changed.status_code == 200 and changed.json()["town"] == "Thun"
    bad = writer.patch(f"/api/v1/tenants/{body['id']}/", {"country": "Schweiz"}, format="json")
    assert bad.status_code == 400 and "country" in error_of(bad)["fields"]
