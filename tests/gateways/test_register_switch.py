"""A meter whose reading register changes is switched like a replaced register: no jump.

An EM24 mapped before release 13 was read at 0x0042 (kWh (+) L2, one phase). The
migration corrects the built-in profile to 0x0034 (kWh (+) TOT) and marks its meters; the
next poll reads both counters at one instant and closes/reopens the meter's assignment
there. Numbers by hand: L2 goes 1500.0 → 1500.4 → 1500.6 kWh, the total is 4501.2 at the
switch and 4501.8 one slot later; the tenant used 0.6 (L2, before) + 0.6 (total, after)
= 1.2 kWh, not the 3001.8 a plain address change would bill.
"""

from __future__ import annotations

import importlib
from decimal import Decimal

from django.apps import apps as django_apps

from billspree.core.models import AuditEvent
from gateways import services
from gateways.models import GatewayError, PollRun, Profile, RegisterMap
from gateways.profiles import BUILTIN_PROFILES
from gateways.simulator import SimMeter
from meters.models import MeterAssignment
from readings.models import Reading
from readings.selectors import billing_point_consumption, meter_consumption
from tests.gateways.helpers import T0, make_gateway, map_meter, readings_of, slot

MIGRATION = importlib.import_module("gateways.migrations.0008_registermap_register_switch")
HOLDING = 3


def _int32_low_word_first(tenths: int) -> list[int]:
    """EM24-DIN INT32, least significant word first (section 2.1)."""
    return [tenths & 0xFFFF, tenths >> 16]


def _em24_words(l2_kwh: str, total_kwh: str) -> dict[int, dict[int, int]]:
    l2 = _int32_low_word_first(int(Decimal(l2_kwh) * 10))
    total = _int32_low_word_first(int(Decimal(total_kwh) * 10))
    return {HOLDING: {0x0042: l2[0], 0x0043: l2[1], 0x0034: total[0], 0x0035: total[1]}}


def _pre_release_em24(in_org) -> Profile:
    """The organization's EM24 copy as it was made before the fix: reading 0x0042."""
    services.profile_builtins_ensure()
    em24 = Profile.objects.get(builtin="carlo-gavazzi-em24")
    em24.values.filter(is_reading=True).update(address=0x0042, label="kWh (+) total")
    return em24


def test_em24_moved_to_the_total_register_bills_no_jump(in_org_a, sim):
    em24 = _pre_release_em24(in_org_a)
    device = SimMeter(30, BUILTIN_PROFILES["carlo-gavazzi-em24"])
    sim.store.meters[30] = device
    gateway = make_gateway(sim)
    m = map_meter(gateway, 30, em24)

    device.pinned_words = _em24_words("1500.0", "4500.0")
    services.gateway_poll(gateway=gateway, now=T0)
    device.pinned_words = _em24_words("1500.4", "4500.9")
    services.gateway_poll(gateway=gateway, now=slot(1))
    assert [v for _, v, _ in readings_of(m)] == [Decimal("1500.0"), Decimal("1500.4")]

    assert MIGRATION.em24_total_register(django_apps, None) == 1  # the release's migration
    assert MIGRATION.em24_total_register(django_apps, None) == 0  # idempotent
    assert em24.reading_value().address == 0x0034
    m.refresh_from_db()
    assert m.register_switch["address"] == 0x0042 and "0x0034" in m.register_switch["reason"]

    device.pinned_words = _em24_words("1500.6", "4501.2")
    run = services.gateway_poll(gateway=gateway, now=slot(2))
    assert run.status == PollRun.Status.OK, run.summary
    assert "1 switched to a corrected register" in run.summary
    assert len(readings_of(m)) == 2  # nothing stored at the switch instant
    old, new = MeterAssignment.objects.filter(meter=m.meter).order_by("connected_at")
    assert (old.removed_at, old.final_reading) == (slot(2), Decimal("1500.6"))
    assert (new.connected_at, new.initial_reading) == (slot(2), Decimal("4501.2"))
    assert new.billing_point_id == old.billing_point_id and new.removed_at is None
    m.refresh_from_db()
    assert m.register_switch is None and m.last_value == Decimal("4501.2")
    event = AuditEvent.objects.get(action="register_map.register_switch")
    assert Decimal(event.detail["final_reading"]) == Decimal("1500.6")
    assert event.detail["from"]["address"] == 0x42

    device.pinned_words = _em24_words("1500.9", "4501.8")
    run = services.gateway_poll(gateway=gateway, now=slot(3))
    assert run.status == PollRun.Status.OK and run.readings_stored == 1, run.summary
    last = Reading.objects.get(meter=m.meter, read_at=slot(3))
    assert last.value == Decimal("4501.8") and not last.is_anomaly

    used = meter_consumption(meter_ids=[m.meter_id], start=T0, end=slot(3))[m.meter_id]
    assert used.quantity == Decimal("1.2000") and not used.estimated
    # either side of the switch, and the billing point as a whole
    before = meter_consumption(meter_ids=[m.meter_id], start=slot(1), end=slot(2))
    assert before[m.meter_id].quantity == Decimal("0.2000")
    after = meter_consumption(meter_ids=[m.meter_id], start=slot(2), end=slot(3))
    assert after[m.meter_id].quantity == Decimal("0.6000")
    point = billing_point_consumption(billing_point_ids=[old.billing_point_id], start=T0,
                                      end=slot(3))
    assert point[(old.billing_point_id, "electricity")].quantity == Decimal("1.2000")


def test_meter_refusing_the_old_register_switches_from_its_last_reading(in_org_a, sim):
    em24 = _pre_release_em24(in_org_a)
    device = SimMeter(31, BUILTIN_PROFILES["carlo-gavazzi-em24"])
    sim.store.meters[31] = device
    gateway = make_gateway(sim)
    m = map_meter(gateway, 31, em24)
    device.pinned_words = _em24_words("700.0", "2100.0")
    services.gateway_poll(gateway=gateway, now=T0)
    MIGRATION.em24_total_register(django_apps, None)
    # a replaced device that has no 0x0042 any more: only the total is served
    device.pinned_words = {HOLDING: dict(zip((0x34, 0x35), _int32_low_word_first(21010),
                                             strict=True))}
    device.profile = BUILTIN_PROFILES["carlo-gavazzi-em24"]
    run = services.gateway_poll(gateway=gateway, now=slot(1))
    assert "1 switched" in run.summary, run.summary
    old, new = MeterAssignment.objects.filter(meter=m.meter).order_by("connected_at")
    assert old.final_reading == Decimal("700.0") and new.initial_reading == Decimal("2101.0")
    event = AuditEvent.objects.get(action="register_map.register_switch")
    assert "could not be read" in event.detail["note"]


def test_meter_with_no_reading_yet_just_starts_on_the_new_register(in_org_a, sim):
    em24 = _pre_release_em24(in_org_a)
    device = SimMeter(32, BUILTIN_PROFILES["carlo-gavazzi-em24"],
                      pinned_words=_em24_words("10.0", "30.5"))
    sim.store.meters[32] = device
    gateway = make_gateway(sim)
    m = map_meter(gateway, 32, em24)
    MIGRATION.em24_total_register(django_apps, None)
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.readings_stored == 1, run.summary
    assert [v for _, v, _ in readings_of(m)] == [Decimal("30.5")]
    assert MeterAssignment.objects.filter(meter=m.meter).count() == 1
    m.refresh_from_db()
    assert m.register_switch is None


def test_moving_a_meter_to_a_profile_with_another_register_switches_it(in_org_a, sim):
    services.profile_builtins_ensure()
    sdm120 = Profile.objects.get(builtin="eastron-sdm120")
    device = SimMeter(33, BUILTIN_PROFILES["eastron-sdm120"], fixed={"energy_import": 100.0})
    sim.store.meters[33] = device
    gateway = make_gateway(sim)
    m = map_meter(gateway, 33, sdm120)
    services.gateway_poll(gateway=gateway, now=T0)
    # a custom profile reading "import + export" at 0x0156 (30343), holding 900.5
    custom = services.profile_create(
        name="SDM120 total kWh", meter_type="electricity",
        values=[{"key": "energy_total", "label": "Total kWh", "function_code": 4,
                 "address": 0x0156, "data_type": "f32", "word_order": "big",
                 "scale": Decimal(1), "unit": "kWh", "is_reading": True}],
    )
    device.pinned_words = {4: {0x0156: 0x4461, 0x0157: 0x2000}}  # 900.5 = 0x44612000
    device.fixed["energy_import"] = 100.25
    services.register_map_update(register_map=m, profile=custom)
    m.refresh_from_db()
    assert m.register_switch["address"] == 0x0048
    run = services.gateway_poll(gateway=gateway, now=slot(1))
    assert "1 switched" in run.summary, run.summary
    old, new = MeterAssignment.objects.filter(meter=m.meter).order_by("connected_at")
    assert old.final_reading == Decimal("100.25") and new.initial_reading == Decimal("900.5")
    assert not GatewayError.objects.exists()
    assert RegisterMap.objects.get(pk=m.pk).register_switch is None


def test_gateway_page_shows_a_pending_register_switch(in_org_a, sim):
    from tests.conftest import login_client

    em24 = _pre_release_em24(in_org_a)
    gateway = make_gateway(sim)
    map_meter(gateway, 3, em24)
    MIGRATION.em24_total_register(django_apps, None)
    page = login_client(in_org_a.viewer, in_org_a.org).get(f"/gateways/{gateway.public_id}/")
    text = page.content.decode()
    assert page.status_code == 200 and "register switch at next poll" in text
    assert "kWh (+) TOT at 0x0034" in text  # the reason, as the badge's title
