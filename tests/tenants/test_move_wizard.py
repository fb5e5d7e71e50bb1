"""The move wizard as a manager uses it: the outgoing tenant is not offered as the incoming
one, a new tenant is created in place (with the move, all or nothing), the meters' last
readings are shown, and the outgoing tenant's final bill is offered afterwards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billspree.core.scoping import organization_context
from readings.models import Reading
from tenants import services
from tenants.models import Move, Occupancy, Tenant
from tests.billing.builders import at, make_house, read
from tests.conftest import login_client

pytestmark = pytest.mark.django_db

MOVE_DAY = "2026-11-01"


@pytest.fixture
def house(world_a):
    with organization_context(world_a.org):
        h = make_house()
        read(h.meter, (at(date(2026, 9, 1)), "1100"), (at(date(2026, 10, 1), 14), "1400"))
        h.extra["keller"] = services.tenant_create(name="Ms Keller")
    return h


@pytest.fixture
def manager(world_a):
    return login_client(world_a.manager, world_a.org)


def reading_field(h) -> str:
    return f"reading_{h.meter.public_id.hex}"


def details(h, **extra) -> dict:
    return {"billing_point": h.bp.public_id, "moved_on": MOVE_DAY, "step": "review", **extra}


def test_outgoing_tenant_is_not_offered_as_incoming(house, manager):
    page = manager.get("/tenants/moves/new/", {"billing_point": house.bp.public_id,
                                               "moved_on": MOVE_DAY})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'value="{house.tenant.public_id}"' not in html  # Tenant N moves out
    assert f'value="{house.extra["keller"].public_id}"' in html
    assert 'value="new"' in html and "A new tenant" in html
    response = manager.post("/tenants/moves/new/",
                            details(house, incoming_tenant=house.tenant.public_id))
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_last_readings_are_shown_with_their_date(house, manager):
    html = manager.get("/tenants/moves/new/", {"billing_point": house.bp.public_id,
                                               "moved_on": MOVE_DAY}).content.decode()
    assert 'data-testid="last-reading"' in html
    assert "Last reading: <strong>1400</strong> on 1 Oct 2026 14:00" in html


def test_reading_already_taken_at_the_move_starts_filled_in(house, manager):
    with organization_context(house.bp.organization):
        read(house.meter, (at(date(2026, 11, 1)), "1500"))
    html = manager.get("/tenants/moves/new/", {"billing_point": house.bp.public_id,
                                               "moved_on": MOVE_DAY}).content.decode()
    assert f'name="{reading_field(house)}" value="1500' in html and "at the move" in html


def test_new_tenant_created_in_place_with_the_move(house, manager, world_a):
    data = details(house, incoming_tenant="new", new_kind="person", new_name="Mrs Novak",
                   new_email="novak@example.com", **{reading_field(house): "1500"})
    review = manager.post("/tenants/moves/new/", data)
    html = review.content.decode()
    assert review.status_code == 200 and "Confirm move" in html
    assert "Mrs Novak" in html and "new tenant" in html
    with organization_context(world_a.org):
        assert not Tenant.objects.filter(name="Mrs Novak").exists()  # not before confirming
    done = manager.post("/tenants/moves/new/", {**data, "step": "confirm"})
    assert done.status_code == 302
    with organization_context(world_a.org):
        move = Move.objects.get()
        novak = Tenant.objects.get(name="Mrs Novak")
        assert move.incoming.tenant == novak and novak.email == "novak@example.com"
        assert move.outgoing.tenant == house.tenant
        assert novak.customer_number  # the next free number
    assert done["Location"] == f"/tenants/moves/{move.public_id}/"


def test_new_tenant_needs_a_name_and_details_need_the_new_choice(house, manager, world_a):
    missing = manager.post("/tenants/moves/new/", details(house, incoming_tenant="new"))
    assert missing.status_code == 400
    assert "Enter the new tenant&#x27;s name." in missing.content.decode()
    stray = manager.post("/tenants/moves/new/", details(house, new_name="Mrs Novak"))
    assert stray.status_code == 400 and "A new tenant" in stray.content.decode()
    with organization_context(world_a.org):
        assert not Move.objects.exists() and not Tenant.objects.filter(name="Mrs Novak").exists()


def test_failed_move_leaves_no_new_tenant_behind(house, manager, world_a):
    # the reading is lower than the last one: the move fails after the tenant was created
    data = details(house, incoming_tenant="new", new_name="Mrs Novak", step="confirm",
                   **{reading_field(house): "900"})
    response = manager.post("/tenants/moves/new/", data)
    assert response.status_code == 400
    assert "Lower than the previous reading" in response.content.decode()
    with organization_context(world_a.org):
        assert not Tenant.objects.filter(name="Mrs Novak").exists()
        assert not Move.objects.exists()
        assert Occupancy.objects.get(tenant=house.tenant).move_out is None


def test_new_tenant_customer_number_clash_names_the_field(house, manager, world_a):
    data = details(house, incoming_tenant="new", new_name="Mrs Novak", step="confirm",
                   new_customer_number=house.tenant.customer_number)
    response = manager.post("/tenants/moves/new/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-field="new_customer_number"' in html and "already in use" in html
    with organization_context(world_a.org):
        assert not Move.objects.exists() and not Tenant.objects.filter(name="Mrs Novak").exists()


def test_service_refuses_both_an_existing_and_a_new_tenant(house, world_a):
    with organization_context(world_a.org), pytest.raises(ValidationError) as err:
        services.move_register(billing_point=house.bp, moved_at=date(2026, 11, 1),
                               incoming_tenant=house.extra["keller"],
                               new_tenant={"name": "Mrs Novak"})
    assert "incoming_tenant" in err.value.message_dict


def test_move_page_offers_the_outgoing_tenants_final_bill(house, manager, world_a):
    with organization_context(world_a.org):
        move = services.move_register(billing_point=house.bp, moved_at=date(2026, 11, 1),
                                      incoming_tenant=house.extra["keller"],
                                      readings={house.meter.serial_number: "1500"})
    html = manager.get(f"/tenants/moves/{move.public_id}/").content.decode()
    assert 'data-testid="final-bill"' in html and f"Final bill of {house.tenant.name}" in html
    url = (f"/billing/preview/?subscription={house.subscription.public_id}"
           "&amp;start=2026-08-01&amp;end=2026-11-01")
    assert url in html and "1 Aug – 31 Oct 2026" in html
    preview = manager.get(url.replace("&amp;", "&")).content.decode()
    assert house.tenant.name in preview and "can be billed" in preview
    assert "Ms Keller" not in preview  # only the outgoing tenant's period
    with organization_context(world_a.org):
        assert Reading.objects.get(meter=house.meter, read_at=at(date(2026, 11, 1))).value \
            == Decimal("1500")


def test_final_bill_starts_after_the_last_invoice_and_is_not_offered_to_viewers(
    house, world_a
):
    from billing import services as billing_services

    with organization_context(world_a.org):
        billing_services.invoice_create_draft(subscriptions=[house.subscription],
                                              start=date(2026, 9, 1), end=date(2026, 10, 1))
        move = services.move_register(billing_point=house.bp, moved_at=date(2026, 11, 1))
    html = login_client(world_a.manager, world_a.org).get(
        f"/tenants/moves/{move.public_id}/").content.decode()
    assert "start=2026-10-01&amp;end=2026-11-01" in html
    viewer = login_client(world_a.viewer, world_a.org).get(
        f"/tenants/moves/{move.public_id}/").content.decode()
    assert "Final bill" not in viewer and "Register another move" not in viewer
