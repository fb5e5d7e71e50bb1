"""Services of the meter registry: creation, renames, assignments, replacement, import."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from billspree.core.errors import Conflict
from billspree.core.models import AuditEvent
from meters import selectors, services
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType
from tests.meters.factories import make_registry

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(in_org_a):
    prop, bp, meters = make_registry()
    return prop, bp, meters


def _counts():
    return (
        BillingPoint.objects.count(),
        Meter.objects.count(),
        MeterAssignment.objects.count(),
        list(MeterAssignment.objects.order_by("pk").values_list("removed_at", "final_reading")),
    )


# --- properties, billing points, meters -------------------------------------------------


def test_property_defaults_come_from_the_organization(in_org_a):
    in_org_a.org.time_zone = "Europe/Zurich"
    in_org_a.org.default_currency = "CHF"
    in_org_a.org.save()
    prop = services.property_create(name="  Seeblick  ")
    assert prop.name == "Seeblick"
    assert str(prop.time_zone) == "Europe/Zurich"
    assert str(prop.currency) == "CHF"
    assert AuditEvent.objects.filter(action="meters.property.create", target="Seeblick").exists()


def test_property_name_unique_names_the_field(reg):
    with pytest.raises(ValidationError) as exc:
        services.property_create(name="Test House")
    assert "name" in exc.value.message_dict


def test_duplicate_connection_id_is_refused(reg):
    prop, bp, _ = reg
    with pytest.raises(ValidationError) as exc:
        services.billing_point_create(property=prop, connection_id=bp.connection_id, name="X")
    assert "connection_id" in exc.value.message_dict
    assert BillingPoint.objects.count() == 1


def test_updates_strip_text_refuse_a_taken_value_and_audit_only_changes(reg):
    prop, bp, meters = reg
    services.billing_point_update(billing_point=bp, name="  Flat 2  ")
    bp.refresh_from_db()
    assert bp.name == "Flat 2"
    audits = AuditEvent.objects.filter(action="meters.billing_point.update")
    assert audits.count() == 1 and "name" in audits.get().detail
    services.billing_point_update(billing_point=bp, name="Flat 2")  # nothing changes
    assert audits.count() == 1
    other = services.billing_point_create(property=prop, connection_id="B-2", name="Other")
    before = list(BillingPoint.objects.order_by("pk").values_list("connection_id", "name"))
    with pytest.raises(ValidationError) as exc:
        services.billing_point_update(billing_point=other,
                                      connection_id=f" {bp.connection_id} ")
    assert exc.value.message_dict["connection_id"] == [
        f"Connection ID '{bp.connection_id}' is used by another billing point."]
    assert list(BillingPoint.objects.order_by("pk").values_list("connection_id", "name")) \
        == before


def test_meter_unit_defaults_and_is_checked_against_the_type(in_org_a):
    meter = services.meter_create(type=MeterType.HEAT, serial_number="H-1")
    assert meter.unit == "kWh"
    gas = services.meter_create(type=MeterType.GAS, serial_number="G-1", unit="m³")
    assert gas.unit == "m³"
    with pytest.raises(ValidationError) as exc:
        services.meter_create(type=MeterType.ELECTRICITY, serial_number="E-1", unit="m³")
    assert "unit" in exc.value.message_dict
    assert "electricity" in exc.value.message_dict["unit"][0]
    assert not Meter.objects.filter(serial_number="E-1").exists()


def test_unit_change_to_a_wrong_unit_changes_nothing(reg):
    meter = reg[2][MeterType.COLD_WATER]
    with pytest.raises(ValidationError) as exc:
        services.meter_update(meter=meter, unit="kWh")
    assert "unit" in exc.value.message_dict
    meter.refresh_from_db()
    assert meter.unit == "m³"


def test_duplicate_serial_is_refused(reg):
    with pytest.raises(ValidationError) as exc:
        services.meter_create(type=MeterType.GAS, serial_number="TEST-GAS-1")
    assert "serial_number" in exc.value.message_dict


def test_rename_keeps_the_serial_and_serial_never_changes(reg, world_a):
    meter = reg[2][MeterType.ELECTRICITY]
    services.meter_rename(meter=meter, label="Basement, left", actor=world_a.manager)
    meter.refresh_from_db()
    assert meter.label == "Basement, left"
    with pytest.raises(ValidationError) as exc:
        services.meter_update(meter=meter, serial_number="NEW-1")
    assert "serial_number" in exc.value.message_dict
    meter.refresh_from_db()
    assert meter.serial_number == "TEST-ELEC-1"
    # repeating the same serial (a full form / PUT) is fine
    services.meter_update(meter=meter, serial_number="TEST-ELEC-1", label="Basement")


def test_parent_must_be_same_type_and_not_a_loop(reg):
    meters = reg[2]
    elec, water = meters[MeterType.ELECTRICITY], meters[MeterType.COLD_WATER]
    with pytest.raises(ValidationError) as exc:
        services.meter_update(meter=water, parent=elec)
    assert "parent" in exc.value.message_dict
    sub = services.meter_create(type=MeterType.ELECTRICITY, serial_number="SUB-1", parent=elec)
    with pytest.raises(ValidationError):
        services.meter_update(meter=elec, parent=sub)


# --- assignments ------------------------------------------------------------------------


def test_assign_with_a_date_means_midnight_in_the_property_zone(reg):
    _, bp, meters = reg
    a = services.meter_assign(
        billing_point=bp,
        meter=meters[MeterType.ELECTRICITY],
        connected_at=date(2026, 3, 1),
        initial_reading="12,5",
    )
    assert a.connected_at == datetime(2026, 3, 1, tzinfo=BERLIN)
    assert a.connected_at.utcoffset() is not None
    assert a.initial_reading == Decimal("12.5")
    assert list(selectors.active_meters(bp)) == [meters[MeterType.ELECTRICITY]]


def test_assign_accepts_aware_iso_text_and_refuses_naive(reg):
    _, bp, meters = reg
    a = services.meter_assign(
        billing_point=bp, meter=meters[MeterType.GAS], connected_at="2026-03-01T10:00:00+00:00"
    )
    assert a.connected_at == datetime(2026, 3, 1, 11, tzinfo=BERLIN)
    with pytest.raises(ValidationError) as exc:
        services.meter_assign(
            billing_point=bp,
            meter=meters[MeterType.HOT_WATER],
            connected_at="2026-03-01T10:00:00",
        )
    assert "connected_at" in exc.value.message_dict


def test_already_active_meter_conflict_names_the_billing_point(reg):
    prop, bp, meters = reg
    other = services.billing_point_create(property=prop, connection_id="OTHER-9", name="Shop 9")
    meter = meters[MeterType.ELECTRICITY]
    services.meter_assign(billing_point=bp, meter=meter, connected_at=date(2026, 1, 1))
    before = _counts()
    with pytest.raises(Conflict) as exc:
        services.meter_assign(billing_point=other, meter=meter, connected_at=date(2026, 2, 1))
    assert "Flat 1" in exc.value.message and bp.connection_id in exc.value.message
    assert "meter" in exc.value.fields
    assert _counts() == before


def test_connection_before_last_removal_is_refused(reg):
    _, bp, meters = reg
    meter = meters[MeterType.ELECTRICITY]
    a = services.meter_assign(billing_point=bp, meter=meter, connected_at=date(2026, 1, 1))
    services.meter_remove(assignment=a, removed_at=date(2026, 3, 1), final_reading=50)
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        services.meter_assign(billing_point=bp, meter=meter, connected_at=date(2026, 2, 1))
    assert "connected_at" in exc.value.message_dict
    assert "1 Mar 2026" in exc.value.message_dict["connected_at"][0]
    assert _counts() == before
    # on the removal date itself is fine: [start, end) periods touch, they do not overlap
    services.meter_assign(billing_point=bp, meter=meter, connected_at=date(2026, 3, 1))


def test_recording_an_overlapping_past_period_is_a_clear_conflict(reg):
    _, bp, meters = reg
    meter = meters[MeterType.ELECTRICITY]
    services.meter_assign(billing_point=bp, meter=meter, connected_at=date(2026, 1, 1))
    before = _counts()
    with pytest.raises(Conflict) as exc:
        services.meter_assignment_record(
            billing_point=bp,
            meter=meter,
            connected_at=date(2025, 12, 1),
            removed_at=date(2026, 1, 15),
            final_reading=10,
        )
    assert "overlaps" in exc.value.message and "Flat 1" in exc.value.message
    assert _counts() == before
    past = services.meter_assignment_record(
        billing_point=bp,
        meter=meter,
        connected_at=date(2025, 6, 1),
        removed_at=date(2026, 1, 1),
        initial_reading=1,
        final_reading=10,
    )
    assert past.final_reading == 10


def test_remove_needs_a_later_date_and_a_valid_reading(reg):
    _, bp, meters = reg
    a = services.meter_assign(
        billing_point=bp, meter=meters[MeterType.ELECTRICITY], connected_at=date(2026, 1, 1)
    )
    with pytest.raises(ValidationError) as exc:
        services.meter_remove(assignment=a, removed_at=date(2025, 12, 1), final_reading=5)
    assert "removed_at" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.meter_remove(assignment=a, removed_at=date(2026, 2, 1), final_reading="-3")
    assert "final_reading" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.meter_remove(assignment=a, removed_at=date(2026, 2, 1), final_reading="1e9")
    assert "register" in exc.value.message_dict["final_reading"][0]
    a.refresh_from_db()
    assert a.removed_at is None and a.final_reading is None
    services.meter_remove(assignment=a, removed_at=date(2026, 2, 1), final_reading="77.7")
    a.refresh_from_db()
    assert a.final_reading == Decimal("77.7")
    with pytest.raises(Conflict):
        services.meter_remove(assignment=a, removed_at=date(2026, 3, 1), final_reading=80)


def test_replace_closes_and_opens_at_the_same_instant(reg):
    prop, bp, meters = reg
    old_meter = meters[MeterType.ELECTRICITY]
    new_meter = services.meter_create(type=MeterType.ELECTRICITY, serial_number="NEW-E")
    a = services.meter_assign(billing_point=bp, meter=old_meter, connected_at=date(2026, 1, 1))
    new = services.meter_replace(
        assignment=a,
        new_meter=new_meter,
        replaced_at=date(2026, 6, 15),
        final_reading="1234.5",
        initial_reading="0.3",
    )
    a.refresh_from_db()
    assert a.removed_at == new.connected_at == datetime(2026, 6, 15, tzinfo=BERLIN)
    assert a.final_reading == Decimal("1234.5") and new.initial_reading == Decimal("0.3")
    assert new.billing_point == bp
    assert list(selectors.active_meters(bp)) == [new_meter]


def test_failed_replace_writes_nothing(reg):
    prop, bp, meters = reg
    old_meter = meters[MeterType.ELECTRICITY]
    busy = services.meter_create(type=MeterType.ELECTRICITY, serial_number="BUSY-E")
    other = services.billing_point_create(property=prop, connection_id="OTHER-1", name="Shop")
    services.meter_assign(billing_point=other, meter=busy, connected_at=date(2026, 1, 1))
    a = services.meter_assign(billing_point=bp, meter=old_meter, connected_at=date(2026, 1, 1))
    before = _counts()
    # the new meter is busy elsewhere: the removal of the old one must be undone too
    with pytest.raises(Conflict) as exc:
        services.meter_replace(
            assignment=a, new_meter=busy, replaced_at=date(2026, 6, 1), final_reading=10
        )
    assert "Shop" in exc.value.message
    assert _counts() == before
    # a bad initial reading of the new meter: same
    free = services.meter_create(type=MeterType.ELECTRICITY, serial_number="FREE-E")
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        services.meter_replace(
            assignment=a,
            new_meter=free,
            replaced_at=date(2026, 6, 1),
            final_reading=10,
            initial_reading="abc",
        )
    assert "initial_reading" in exc.value.message_dict
    assert _counts() == before
    # a meter of another type is refused before anything
    with pytest.raises(ValidationError) as exc:
        services.meter_replace(
            assignment=a,
            new_meter=meters[MeterType.GAS],
            replaced_at=date(2026, 6, 1),
            final_reading=10,
        )
    assert "new_meter" in exc.value.message_dict
    assert _counts() == before


def test_new_connection_creates_point_and_meters_in_one_step(reg):
    prop, _, meters = reg
    existing = meters[MeterType.COLD_WATER]
    bp = services.billing_point_create_with_meters(
        property=prop,
        connection_id="NEW-7",
        name="Apartment 7",
        kind="apartment",
        connected_at=date(2026, 4, 1),
        meters=[
            services.NewMeter(
                type=MeterType.ELECTRICITY, serial_number="E-NEW-7", initial_reading="10"
            ),
            services.NewMeter(
                type=MeterType.COLD_WATER,
                serial_number=existing.serial_number,
                initial_reading="3.25",
            ),
        ],
    )
    assert {m.serial_number for m in selectors.active_meters(bp)} == {
        "E-NEW-7",
        existing.serial_number,
    }
    assert Meter.objects.get(serial_number="E-NEW-7").unit == "kWh"


def test_failed_new_connection_writes_nothing(reg):
    prop, bp, meters = reg
    busy = meters[MeterType.ELECTRICITY]
    services.meter_assign(billing_point=bp, meter=busy, connected_at=date(2026, 1, 1))
    before = _counts()
    with pytest.raises(Conflict) as exc:
        services.billing_point_create_with_meters(
            property=prop,
            connection_id="NEW-8",
            name="Apartment 8",
            connected_at=date(2026, 4, 1),
            meters=[
                services.NewMeter(type=MeterType.GAS, serial_number="G-NEW-8"),
                services.NewMeter(type=MeterType.ELECTRICITY, serial_number=busy.serial_number),
            ],
        )
    assert "meters[1].meter" in exc.value.fields
    assert _counts() == before
    assert not Meter.objects.filter(serial_number="G-NEW-8").exists()
    with pytest.raises(ValidationError) as exc:
        services.billing_point_create_with_meters(
            property=prop,
            connection_id="NEW-8",
            name="Apartment 8",
            connected_at=date(2026, 4, 1),
            meters=[
                services.NewMeter(
                    type=MeterType.GAS, serial_number=meters[MeterType.HOT_WATER].serial_number
                )
            ],
        )
    assert "meters[0].type" in exc.value.message_dict
    assert _counts() == before


def test_selectors_status_and_water_group(reg):
    _, bp, meters = reg
    services.meter_assign(
        billing_point=bp, meter=meters[MeterType.COLD_WATER], connected_at=date(2026, 1, 1)
    )
    inactive_water = set(selectors.inactive_meters(type="water"))
    assert inactive_water == {meters[MeterType.HOT_WATER]}
    listed = {m.serial_number: m for m in selectors.meter_list()}
    cold = listed[meters[MeterType.COLD_WATER].serial_number]
    assert cold.is_active and cold.current_connection_id == bp.connection_id
    assert not listed[meters[MeterType.GAS].serial_number].is_active
    bps = list(selectors.billing_point_list())
    assert bps[0].active_meter_count == 1


def test_list_selectors_do_not_grow_with_rows(reg, django_assert_num_queries):
    prop, bp, _ = reg
    for i in range(15):
        m = services.meter_create(type=MeterType.HEAT, serial_number=f"HX-{i}")
        services.meter_assign(
            billing_point=bp,
            meter=m,
            connected_at=datetime(2026, 1, 1, tzinfo=BERLIN) + timedelta(days=i),
        )
    with django_assert_num_queries(1):
        rows = [
            (m.serial_number, m.is_active, m.current_billing_point_name, m.parent)
            for m in selectors.meter_list()
        ]
    assert len(rows) == 19
    with django_assert_num_queries(1):
        [(b.name, b.active_meter_count, b.property.name) for b in selectors.billing_point_list()]


def test_type_change_only_for_unused_meters_and_unit_follows(reg):
    _, bp, meters = reg
    gas = meters[MeterType.GAS]
    services.meter_update(meter=gas, type=MeterType.HEAT)
    gas.refresh_from_db()
    assert (gas.type, gas.unit) == (MeterType.HEAT, "kWh")
    elec = meters[MeterType.ELECTRICITY]
    services.meter_create(type=MeterType.ELECTRICITY, serial_number="SUB-E", parent=elec)
    with pytest.raises(ValidationError) as exc:
        services.meter_update(meter=elec, type=MeterType.GAS)
    assert "type" in exc.value.message_dict
    water = meters[MeterType.COLD_WATER]
    services.meter_assign(billing_point=bp, meter=water, connected_at=date(2026, 1, 1))
    with pytest.raises(ValidationError) as exc:
        services.meter_update(meter=water, type=MeterType.HOT_WATER)
    assert "connected" in exc.value.message_dict["type"][0]


def test_unit_change_only_for_meters_never_connected(reg):
    """A connected meter's readings (and the gateway profile that reads it) are in its
    unit: another unit would rescale its history, so it is refused, naming the field."""
    _, bp, meters = reg
    elec = meters[MeterType.ELECTRICITY]
    services.meter_update(meter=elec, unit="MWh")  # not connected yet: a correction
    elec.refresh_from_db()
    assert elec.unit == "MWh"
    services.meter_update(meter=elec, unit="kWh")
    services.meter_assign(billing_point=bp, meter=elec, connected_at=date(2026, 1, 1))
    with pytest.raises(ValidationError) as exc:
        services.meter_update(meter=elec, unit="MWh", label="Main")
    assert "readings are in kWh" in exc.value.message_dict["unit"][0]
    elec.refresh_from_db()
    assert (elec.unit, elec.label) == ("kWh", "")  # nothing changed
    services.meter_update(meter=elec, unit="KWH", label="Main")  # the same unit, written so
    elec.refresh_from_db()
    assert (elec.unit, elec.label) == ("kWh", "Main")
