"""Portal pages of the meter registry: lists, details, forms, flows, errors, roles."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billspree.core.scoping import organization_context
from meters import services
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType
from tests.conftest import login_client
from tests.meters.factories import make_registry

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(world_a):
    with organization_context(world_a.org):
        return make_registry()


@pytest.fixture
def manager(world_a):
    return login_client(world_a.manager, world_a.org)


def _state(org):
    with organization_context(org):
        return (
            list(MeterAssignment.objects.order_by("pk").values_list("removed_at", "final_reading")),
            Meter.objects.count(),
            BillingPoint.objects.count(),
        )


def test_empty_states_say_what_to_do(manager):
    r = manager.get("/properties/")
    assert r.status_code == 200 and b"No properties yet" in r.content
    r = manager.get("/meters/")
    assert b"Import the installer" in r.content


def test_pages_render_with_data(manager, reg, world_a):
    prop, bp, meters = reg
    with organization_context(world_a.org):
        a = services.meter_assign(
            billing_point=bp, meter=meters[MeterType.GAS], connected_at=date(2026, 1, 1)
        )
    for url in [
        "/properties/",
        "/properties/?q=Test",
        f"/properties/{prop.public_id}/",
        f"/properties/{prop.public_id}/?kind=apartment&q=Flat",
        f"/properties/{prop.public_id}/edit/",
        f"/properties/{prop.public_id}/connections/new/",
        f"/billing-points/{bp.public_id}/",
        f"/billing-points/{bp.public_id}/edit/",
        f"/billing-points/{bp.public_id}/assign/",
        f"/meter-assignments/{a.public_id}/remove/",
        f"/meter-assignments/{a.public_id}/replace/",
        "/meters/",
        "/meters/?status=inactive&type=water",
        "/meters/new/",
        "/meters/import/",
        f"/meters/{meters[MeterType.GAS].public_id}/",
        f"/meters/{meters[MeterType.GAS].public_id}/edit/",
    ]:
        r = manager.get(url)
        assert r.status_code == 200, url
    r = manager.get("/meters/?status=inactive&type=water")
    assert meters[MeterType.COLD_WATER].serial_number.encode() in r.content
    assert meters[MeterType.GAS].serial_number.encode() not in r.content


def test_viewer_reads_but_cannot_write(reg, world_a):
    prop, bp, meters = reg
    viewer = login_client(world_a.viewer, world_a.org)
    assert viewer.get(f"/billing-points/{bp.public_id}/").status_code == 200
    assert b"Assign meter" not in viewer.get(f"/billing-points/{bp.public_id}/").content
    before = _state(world_a.org)
    r = viewer.post(
        f"/billing-points/{bp.public_id}/assign/",
        {
            "meter": str(meters[MeterType.GAS].public_id),
            "connected_on": "2026-01-01",
            "initial_reading": "0",
        },
    )
    assert r.status_code == 403
    assert _state(world_a.org) == before


def test_property_create_shows_field_errors(manager, reg):
    r = manager.post(
        "/properties/new/",
        {
            "name": "Test House",
            "kind": "apartments",
            "time_zone": "Europe/Berlin",
            "currency": "EUR",
        },
    )
    assert r.status_code == 400
    assert b'data-field="name"' in r.content and b"exists already" in r.content
    r = manager.post(
        "/properties/new/",
        {"name": "Seeblick", "kind": "apartments", "time_zone": "Europe/Berlin", "currency": "EUR"},
    )
    assert r.status_code == 302


def test_new_connection_flow(manager, reg, world_a):
    prop, _, meters = reg
    url = f"/properties/{prop.public_id}/connections/new/"
    data = {
        "connection_id": "CN-9",
        "name": "Apartment 9",
        "kind": "apartment",
        "floor": "3",
        "area_m2": "",
        "notes": "",
        "connected_on": "2026-04-01",
        "m-TOTAL_FORMS": "3",
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "0",
        "m-MAX_NUM_FORMS": "20",
        "m-0-type": "electricity",
        "m-0-serial_number": "E-9",
        "m-0-initial_reading": "5.5",
        "m-1-type": "cold_water",
        "m-1-serial_number": meters[MeterType.COLD_WATER].serial_number,
        "m-1-initial_reading": "2",
        "m-2-type": "",
        "m-2-serial_number": "",
    }
    r = manager.post(
        url,
        {
            **data,
            "m-0-type": "gas",
            "m-0-serial_number": meters[MeterType.ELECTRICITY].serial_number,
        },
    )
    assert r.status_code == 400 and b"measures electricity" in r.content
    r = manager.post(url, {**data, "m-1-initial_reading": "-1"})
    assert r.status_code == 400 and b'data-field="m-1-initial_reading"' in r.content
    assert _state(world_a.org)[2] == 1
    r = manager.post(url, data)
    assert r.status_code == 302
    with organization_context(world_a.org):
        bp = BillingPoint.objects.get(connection_id="CN-9")
        serials = set(
            MeterAssignment.objects.filter(billing_point=bp).values_list(
                "meter__serial_number", flat=True
            )
        )
        assert serials == {"E-9", meters[MeterType.COLD_WATER].serial_number}
        assert MeterAssignment.objects.get(meter__serial_number="E-9").initial_reading == Decimal(
            "5.5"
        )


def test_assign_lists_only_inactive_meters_of_the_type(manager, reg, world_a):
    prop, bp, meters = reg
    with organization_context(world_a.org):
        other = services.billing_point_create(property=prop, connection_id="S-1", name="Shop 1")
        services.meter_assign(
            billing_point=other, meter=meters[MeterType.HOT_WATER], connected_at=date(2026, 1, 1)
        )
    r = manager.get(f"/billing-points/{bp.public_id}/assign/?type=water", HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert "<select" in body and "<html" not in body
    assert meters[MeterType.COLD_WATER].serial_number in body
    assert meters[MeterType.HOT_WATER].serial_number not in body
    assert meters[MeterType.GAS].serial_number not in body
    # a meter already active elsewhere cannot be chosen: field error, nothing changed
    before = _state(world_a.org)
    r = manager.post(
        f"/billing-points/{bp.public_id}/assign/",
        {
            "meter": str(meters[MeterType.HOT_WATER].public_id),
            "connected_on": "2026-02-01",
            "initial_reading": "0",
        },
    )
    assert r.status_code == 400 and b'data-field="meter"' in r.content
    assert b"already active at Shop 1 (S-1)" in r.content
    assert _state(world_a.org) == before
    r = manager.post(
        f"/billing-points/{bp.public_id}/assign/",
        {
            "type": "water",
            "meter": str(meters[MeterType.COLD_WATER].public_id),
            "connected_on": "2026-02-01",
            "initial_reading": "7",
        },
    )
    assert r.status_code == 302
    with organization_context(world_a.org):
        a = MeterAssignment.objects.get(meter=meters[MeterType.COLD_WATER])
        assert a.billing_point == bp and a.connected_at == datetime(2026, 2, 1, tzinfo=BERLIN)


def test_remove_needs_confirmation(manager, reg, world_a):
    _, bp, meters = reg
    with organization_context(world_a.org):
        a = services.meter_assign(
            billing_point=bp, meter=meters[MeterType.GAS], connected_at=date(2026, 1, 1)
        )
    url = f"/meter-assignments/{a.public_id}/remove/"
    before = _state(world_a.org)
    r = manager.post(url, {"removed_on": "2025-06-01", "final_reading": "10"})
    assert r.status_code == 200 and b"Confirm removal" in r.content
    assert _state(world_a.org) == before
    r = manager.post(url, {"removed_on": "2025-06-01", "final_reading": "10", "confirm": "1"})
    assert r.status_code == 400 and b'data-field="removed_on"' in r.content
    assert _state(world_a.org) == before
    r = manager.post(url, {"removed_on": "2026-06-01", "final_reading": "10", "confirm": "1"})
    assert r.status_code == 302
    with organization_context(world_a.org):
        a.refresh_from_db()
        assert a.final_reading == 10 and a.removed_at == datetime(2026, 6, 1, tzinfo=BERLIN)


def test_rename_meter_keeps_serial(manager, reg, world_a):
    meter = reg[2][MeterType.GAS]
    r = manager.post(
        f"/meters/{meter.public_id}/edit/",
        {
            "type": "gas",
            "serial_number": "HACKED",
            "label": "Boiler room",
            "unit": "m³",
            "multiplier": "1",
            "register_digits": "8",
            "parent": "",
            "notes": "",
        },
    )
    assert r.status_code == 302
    with organization_context(world_a.org):
        meter.refresh_from_db()
    assert meter.label == "Boiler room" and meter.serial_number == "TEST-GAS-1"


def test_meter_create_wrong_unit_is_a_field_error(manager, world_a):
    r = manager.post(
        "/meters/new/",
        {
            "type": "electricity",
            "serial_number": "E-1",
            "unit": "m³",
            "multiplier": "1",
            "register_digits": "8",
        },
    )
    assert r.status_code == 400 and b'data-field="unit"' in r.content
    assert _state(world_a.org)[1] == 0


def test_csv_import_reports_every_bad_row_and_imports_nothing(manager, world_a):
    content = (
        "serial_number;type;unit;multiplier;parent\n"
        "EL-1;electricity;kWh;40;\n"
        "EL-2;electricity;m³;;EL-1\n"
        "WA-1;water;;;\n"
        "EL-1;electricity;;;\n"
        "GA-1;gas;;1,5;EL-9\n"
    ).encode()
    r = manager.post("/meters/import/", {"file": SimpleUploadedFile("m.csv", content)})
    assert r.status_code == 400
    body = r.content.decode()
    for line, column in [(3, "unit"), (4, "type"), (5, "serial_number"), (6, "parent")]:
        assert f'<td>{line}</td><td class="mono">{column}</td>' in body, (line, column)
    assert _state(world_a.org)[1] == 0
    good = content.replace(b"m\xc2\xb3;;EL-1", b"kWh;;EL-1").replace(
        b"WA-1;water", b"WA-1;hot water"
    )
    good = good.replace(b"EL-1;electricity;;;\n", b"").replace(b"EL-9", b"")
    r = manager.post("/meters/import/", {"file": SimpleUploadedFile("m.csv", good)})
    assert r.status_code == 302
    with organization_context(world_a.org):
        assert Meter.objects.get(serial_number="EL-2").parent.serial_number == "EL-1"
        assert Meter.objects.get(serial_number="GA-1").multiplier == Decimal("1.5")
        assert Meter.objects.count() == 4


def test_meter_list_query_count_is_pinned(manager, reg, world_a, django_assert_max_num_queries):
    _, bp, _ = reg
    with organization_context(world_a.org):
        for i in range(30):
            m = services.meter_create(type=MeterType.HEAT, serial_number=f"HQ-{i:02d}")
            services.meter_assign(billing_point=bp, meter=m, connected_at=date(2026, 1, 1))
    # the billing point page also renders the panels of tenants, readings and tariffs
    # (a constant handful of queries each), so it gets a higher, still fixed, ceiling
    for url, ceiling in (
        ("/meters/", 12),
        ("/properties/", 12),
        (f"/properties/{bp.property.public_id}/", 12),
        (f"/billing-points/{bp.public_id}/", 18),
    ):
        with django_assert_max_num_queries(ceiling):
            assert manager.get(url).status_code == 200


def test_dashboard_cards(manager, reg, world_a):
    r = manager.get("/")
    assert r.status_code == 200
    assert b"Billing points" in r.content and b"1 without an active meter" in r.content
    assert b"0 / 4" in r.content


def test_dates_show_in_the_property_time_zone(manager, reg, world_a):
    _, bp, meters = reg
    with organization_context(world_a.org):
        services.meter_assign(
            billing_point=bp, meter=meters[MeterType.GAS], connected_at=date(2026, 2, 1)
        )  # 2026-01-31 23:00 UTC
    r = manager.get(f"/billing-points/{bp.public_id}/")
    assert b"1 Feb 2026" in r.content and b"31 Jan 2026" not in r.content


def test_meter_list_filters_by_property(manager, reg, world_a):
    _, bp, meters = reg
    with organization_context(world_a.org):
        other = services.property_create(name="Other House")
        services.meter_assign(
            billing_point=bp, meter=meters[MeterType.GAS], connected_at=date(2026, 1, 1)
        )
    r = manager.get(f"/meters/?property={bp.property.public_id}")
    assert meters[MeterType.GAS].serial_number.encode() in r.content
    assert meters[MeterType.COLD_WATER].serial_number.encode() not in r.content
    r = manager.get(f"/meters/?property={other.public_id}")
    assert b"No meter matches" in r.content
    assert manager.get("/meters/?property=not-a-uuid").status_code == 200


def test_delete_only_without_history_and_after_confirmation(manager, reg, world_a):
    prop, bp, meters = reg
    gas, water = meters[MeterType.GAS], meters[MeterType.COLD_WATER]
    with organization_context(world_a.org):
        services.meter_assign(billing_point=bp, meter=water, connected_at=date(2026, 1, 1))
    # the delete pages take GET and POST only: an HTTP DELETE is refused (it was a 500: the
    # view's delete hook shadowed the DELETE handler), and deletes nothing
    for url in (f"/meters/{gas.public_id}/delete/", f"/billing-points/{bp.public_id}/delete/",
                f"/properties/{prop.public_id}/delete/"):
        assert manager.delete(url).status_code == 405
    assert _state(world_a.org)[1] == 4
    r = manager.post(f"/meters/{gas.public_id}/delete/")
    assert r.status_code == 200 and b"Delete meter" in r.content  # the confirmation page
    assert _state(world_a.org)[1] == 4
    r = manager.post(f"/meters/{gas.public_id}/delete/", {"confirm": "1"})
    assert r.status_code == 302
    before = _state(world_a.org)
    r = manager.post(f"/meters/{water.public_id}/delete/", {"confirm": "1"}, follow=True)
    assert b"history is kept" in r.content
    r = manager.post(f"/billing-points/{bp.public_id}/delete/", {"confirm": "1"}, follow=True)
    assert b"cannot be deleted" in r.content
    r = manager.post(f"/properties/{prop.public_id}/delete/", {"confirm": "1"}, follow=True)
    assert b"still has billing points" in r.content
    assert _state(world_a.org) == before
