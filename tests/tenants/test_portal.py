"""Portal pages of tenants: lists, detail, forms, the move flow, roles, bad input."""

from __future__ import annotations

from datetime import datetime

import pytest

from billspree.core.scoping import organization_context
from tenants import services
from tenants.models import BadgeAssignment, Move, Occupancy, Tenant
from tests.conftest import login_client
from tests.tenants.factories import BERLIN, make_billing_point, make_meter, make_tenant


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def house(world_a):
    with organization_context(world_a.org):
        flat = make_billing_point(name="Apartment Rez Gauche")
        make_meter(flat, at(2021, 1, 1), serial="E-100")
        blumer = make_tenant(name="Mr Blumer")
        owner = make_tenant(name="Owner SA", kind="company")
        services.ownership_set(owner=owner, property=flat.property)
        services.occupancy_create(tenant=blumer, billing_point=flat, move_in=at(2021, 12, 1))
    return world_a, flat, blumer, owner


@pytest.fixture
def manager(world_a):
    return login_client(world_a.manager, world_a.org)


def test_empty_list_says_what_to_do(world_a, manager):
    html = manager.get("/tenants/").content.decode()
    assert "No tenants yet" in html and "Add the first tenant" in html


def test_list_search_filter_and_pagination(house, manager):
    world = house[0]
    with organization_context(world.org):
        for i in range(30):
            make_tenant(name=f"Zed {i:02d}")
    page = manager.get("/tenants/?q=zed").content.decode()
    assert "Zed 00" in page and "Mr Blumer" not in page and "Page 1 of 2" in page
    assert "?q=zed&amp;page=2" in page
    occupying = manager.get("/tenants/?status=occupying").content.decode()
    assert "Mr Blumer" in occupying and "Zed 00" not in occupying
    companies = manager.get("/tenants/?kind=company").content.decode()
    assert "Owner SA" in companies and "Mr Blumer" not in companies
    assert "No tenant matches" in manager.get("/tenants/?q=nobody-at-all").content.decode()


def test_list_query_count_is_constant(house, manager, django_assert_max_num_queries):
    world = house[0]
    manager.get("/tenants/")
    with organization_context(world.org):
        for i in range(15):
            bp = make_billing_point()
            services.occupancy_create(
                tenant=make_tenant(), billing_point=bp, move_in=at(2022, 1, i + 1)
            )
    with django_assert_max_num_queries(12):
        assert manager.get("/tenants/").status_code == 200


def test_create_and_edit_a_tenant(world_a, manager):
    response = manager.post(
        "/tenants/new/", {"kind": "person", "name": "Mr Blumer", "language": "fr"}
    )
    assert response.status_code == 302
    with organization_context(world_a.org):
        tenant = Tenant.objects.get(name="Mr Blumer")
    assert response["Location"] == f"/tenants/{tenant.public_id}/"
    response = manager.post(
        f"/tenants/{tenant.public_id}/edit/",
        {
            "kind": "person",
            "name": "Mr Blumer",
            "language": "de",
            "phone": "+41 1",
            "customer_number": tenant.customer_number,
        },
    )
    assert response.status_code == 302
    with organization_context(world_a.org):
        tenant.refresh_from_db()
    assert (tenant.language, tenant.phone) == ("de", "+41 1")


def test_duplicate_customer_number_shows_on_the_field(house, manager):
    _, _, blumer, _ = house
    response = manager.post(
        "/tenants/new/",
        {
            "kind": "person",
            "name": "Copy",
            "language": "en",
            "customer_number": blumer.customer_number,
        },
    )
    assert response.status_code == 400
    assert 'data-field="customer_number"' in response.content.decode()


def test_viewer_reads_but_cannot_write(house, world_a):
    viewer = login_client(world_a.viewer, world_a.org)
    _, flat, blumer, _ = house
    assert viewer.get(f"/tenants/{blumer.public_id}/").status_code == 200
    assert "Edit" not in viewer.get(f"/tenants/{blumer.public_id}/").content.decode()
    assert (
        viewer.post("/tenants/new/", {"name": "X", "kind": "person", "language": "en"}).status_code
        == 403
    )
    assert viewer.post("/tenants/moves/new/", {}).status_code == 403


def test_detail_and_timeline_show_occupancy_and_owner(house, manager):
    _, flat, blumer, _ = house
    detail = manager.get(f"/tenants/{blumer.public_id}/").content.decode()
    assert "Apartment Rez Gauche" in detail and "1 Dec 2021" in detail
    timeline = manager.get(f"/tenants/billing-points/{flat.public_id}/").content.decode()
    assert "Mr Blumer" in timeline and "Owner SA" in timeline
    assert 'data-testid="occupancy-timeline"' in timeline


def test_overlapping_occupancy_in_the_portal_names_the_tenant(house, manager):
    world, flat, _, _ = house
    with organization_context(world.org):
        keller = make_tenant(name="Ms Keller")
    response = manager.post(
        f"/tenants/{keller.public_id}/occupancies/new/",
        {"billing_point": str(flat.public_id), "move_in": "2022-05-01"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Mr Blumer" in html and "1 Dec 2021" in html
    with organization_context(world.org):
        assert Occupancy.objects.count() == 1


def test_move_flow_review_then_confirm(house, manager):
    world, flat, blumer, _ = house
    with organization_context(world.org):
        keller = make_tenant(name="Ms Keller")
        meter_field = f"reading_{flat.assignments.get().meter.public_id.hex}"
    step2 = manager.get(
        "/tenants/moves/new/", {"billing_point": flat.public_id, "moved_on": "2022-07-01"}
    )
    assert step2.status_code == 200
    assert "Mr Blumer" in step2.content.decode() and meter_field in step2.content.decode()
    data = {
        "billing_point": flat.public_id,
        "moved_on": "2022-07-01",
        "incoming_tenant": keller.public_id,
        meter_field: "1234.5",
        "step": "review",
    }
    review = manager.post("/tenants/moves/new/", data)
    assert review.status_code == 200 and "Confirm move" in review.content.decode()
    with organization_context(world.org):
        assert not Move.objects.exists()
    done = manager.post("/tenants/moves/new/", {**data, "step": "confirm"})
    assert done.status_code == 302
    with organization_context(world.org):
        move = Move.objects.get()
    assert move.incoming.tenant == keller and move.readings == {"E-100": "1234.5"}


def test_failed_move_in_the_portal_writes_nothing(house, manager):
    world, flat, blumer, _ = house
    data = {
        "billing_point": flat.public_id,
        "moved_on": "2021-11-01",
        "incoming_tenant": "",
        "step": "confirm",
    }
    response = manager.post("/tenants/moves/new/", data)
    assert response.status_code == 400
    assert "already vacant" in response.content.decode()
    with organization_context(world.org):
        assert not Move.objects.exists()
        assert Occupancy.objects.get().move_out is None


def test_badges_page_assign_and_return(house, manager):
    world, _, blumer, owner = house
    response = manager.post(
        "/tenants/badges/", {"uid": "04A2", "tenant": blumer.public_id, "assigned_on": "2022-01-01"}
    )
    assert response.status_code == 302
    again = manager.post(
        "/tenants/badges/", {"uid": "04a2", "tenant": owner.public_id, "assigned_on": "2022-02-01"}
    )
    assert again.status_code == 400 and "Mr Blumer" in again.content.decode()
    with organization_context(world.org):
        assignment = BadgeAssignment.objects.get()
    back = manager.post(
        f"/tenants/badges/assignments/{assignment.public_id}/return/", {"returned_on": "2022-03-01"}
    )
    assert back.status_code == 302
    with organization_context(world.org):
        assignment.refresh_from_db()
    assert assignment.returned_at == datetime(2022, 3, 1, tzinfo=world.org.time_zone)


def test_occupancy_summary_tag_and_dashboard_card(house, manager):
    from django.template import Context, Template

    world, flat, _, _ = house
    with organization_context(world.org):
        vacant = make_billing_point(prop=flat.property, name="Shop 2")
        tpl = Template("{% load tenants_tags %}{% occupancy_summary bp %}")
        occupied_html = tpl.render(Context({"bp": flat, "can_manage": True}))
        vacant_html = tpl.render(Context({"bp": vacant}))
    assert "Mr Blumer" in occupied_html and "Register a move" in occupied_html
    assert "vacant" in vacant_html and "Owner SA" in vacant_html
    dashboard = manager.get("/").content.decode()
    assert "Occupancy" in dashboard and "1 / 2" in dashboard


def test_occupancy_overview_shows_occupant_or_owner(house, manager, django_assert_max_num_queries):
    world, flat, _, _ = house
    with organization_context(world.org):
        make_billing_point(prop=flat.property, name="Shop 2")
    manager.get("/tenants/occupancy/")
    with django_assert_max_num_queries(12):
        html = manager.get("/tenants/occupancy/").content.decode()
    assert "Mr Blumer" in html and "1 Dec 2021" in html
    assert "Shop 2" in html and "Owner SA" in html and "always" in html
    vacant = manager.get("/tenants/occupancy/?status=vacant").content.decode()
    assert "Shop 2" in vacant and "Apartment Rez Gauche" not in vacant
    occupied = manager.get("/tenants/occupancy/?status=occupied").content.decode()
    assert "Apartment Rez Gauche" in occupied and "Shop 2" not in occupied
    with organization_context(world.org):
        for _ in range(10):
            bp = make_billing_point(prop=flat.property)
            services.occupancy_create(
                tenant=make_tenant(), billing_point=bp, move_in=at(2022, 1, 1)
            )
    with django_assert_max_num_queries(12):
        assert manager.get("/tenants/occupancy/").status_code == 200


def test_set_move_out_in_the_portal_and_overlap_refused(house, manager):
    world, flat, blumer, _ = house
    with organization_context(world.org):
        first = Occupancy.objects.get()
        services.occupancy_end(occupancy=first, move_out=at(2022, 6, 1))
        later = services.occupancy_create(
            tenant=make_tenant(name="Ms Keller"), billing_point=flat, move_in=at(2022, 9, 1)
        )
    ok = manager.post(f"/tenants/occupancies/{first.public_id}/end/", {"move_out": "2022-08-01"})
    assert ok.status_code == 302
    refused = manager.post(
        f"/tenants/occupancies/{first.public_id}/end/", {"move_out": "2022-10-01"}, follow=True
    )
    assert "Ms Keller" in refused.content.decode()
    with organization_context(world.org):
        first.refresh_from_db()
        later.refresh_from_db()
    assert first.move_out == at(2022, 8, 1) and later.move_in == at(2022, 9, 1)
