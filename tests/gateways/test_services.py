"""Relays, schedules, tasks, profiles and register maps: services against the simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask

from billspree.core.errors import Conflict
from billspree.core.models import AuditEvent
from gateways import services
from gateways.models import GatewayError, PollRun, Profile, RegisterMap, RelayState
from gateways.profiles import BUILTIN_PROFILES
from gateways.tasks import gateway_poll_task
from tests.gateways.factories import make_meter
from tests.gateways.helpers import T0, make_gateway, map_default_layout, map_meter

RELAY_DEVICE = 7  # prepaid meter with a load relay on coil 0 in the default layout


def test_relay_write_reaches_the_server_and_is_audited(in_org_a, sim):
    gateway = make_gateway(sim)
    m = map_default_layout(gateway)[RELAY_DEVICE - 1]
    services.relay_switch(register_map=m, on=False, reason="Arrears of 3 months",
                          actor=in_org_a.operator)
    assert sim.store.meters[RELAY_DEVICE].relay_on is False
    assert sim.store.writes[-1] == (RELAY_DEVICE, 5, 0, [False])
    m.refresh_from_db()
    assert m.relay_state == RelayState.DISCONNECTED and m.relay_changed_at is not None
    event = AuditEvent.objects.get(action="relay.off")
    assert event.actor == in_org_a.operator and event.target == m.meter.serial_number
    assert event.detail["reason"] == "Arrears of 3 months" and event.detail["device_id"] == 7
    services.relay_switch(register_map=m, on=True, reason="Paid", actor=in_org_a.operator)
    assert sim.store.meters[RELAY_DEVICE].relay_on is True
    assert AuditEvent.objects.filter(action="relay.on").count() == 1


def test_relay_off_stops_consumption_in_the_simulator(in_org_a, sim):
    meter = sim.store.meters[RELAY_DEVICE]
    meter.set_relay(False, 1_772_445_600.0)
    frozen = meter.reading(1_772_445_600.0)
    assert meter.reading(1_772_445_600.0 + 3600) == frozen
    meter.set_relay(True, 1_772_445_600.0 + 3600)
    assert meter.reading(1_772_445_600.0 + 3600) == pytest.approx(frozen)
    assert meter.reading(1_772_445_600.0 + 7200) > frozen


def test_relay_needs_a_reason_and_a_relay(in_org_a, sim):
    gateway = make_gateway(sim)
    maps = map_default_layout(gateway)
    with pytest.raises(ValidationError) as exc:
        services.relay_switch(register_map=maps[RELAY_DEVICE - 1], on=False, reason="  ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(Conflict, match="no relay"):
        services.relay_switch(register_map=maps[0], on=False, reason="test")
    assert sim.store.writes == []
    assert not AuditEvent.objects.filter(action__startswith="relay").exists()


def test_failed_relay_write_changes_nothing_but_is_recorded(in_org_a, sim):
    gateway = make_gateway(sim, timeout_ms=150, retries=0)
    m = map_default_layout(gateway)[RELAY_DEVICE - 1]
    sim.store.exceptions[RELAY_DEVICE] = 0x04
    with pytest.raises(Conflict, match="did not confirm"):
        services.relay_switch(register_map=m, on=False, reason="Arrears", actor=in_org_a.manager)
    m.refresh_from_db()
    assert m.relay_state == RelayState.UNKNOWN
    assert sim.store.meters[RELAY_DEVICE].relay_on is True
    assert GatewayError.objects.get().kind == GatewayError.Kind.RELAY
    assert AuditEvent.objects.get(action="relay.failed").detail["reason"] == "Arrears"


def test_relay_state_is_read_from_the_meter_and_outside_changes_are_audited(in_org_a, sim):
    gateway = make_gateway(sim)
    m = map_default_layout(gateway)[RELAY_DEVICE - 1]
    assert m.relay_state == RelayState.UNKNOWN
    services.relay_state_read(register_map=m)
    m.refresh_from_db()
    assert m.relay_state == RelayState.CONNECTED and m.relay_read_at is not None
    first = AuditEvent.objects.get(action="relay.observed")
    assert first.detail["from"] == "unknown" and first.detail["to"] == "connected"
    sim.store.meters[RELAY_DEVICE].set_relay(False, 1_772_445_600.0)  # prepaid credit ran out
    services.relay_state_read(register_map=m)
    m.refresh_from_db()
    assert m.relay_state == RelayState.DISCONNECTED
    assert AuditEvent.objects.filter(action="relay.observed").count() == 2
    services.relay_state_read(register_map=m)  # unchanged: read time only, no new event
    assert AuditEvent.objects.filter(action="relay.observed").count() == 2
    assert sim.store.writes == []  # reading never writes


def test_a_read_overtaken_by_a_switch_is_not_taken_for_an_outside_change(in_org_a, sim):
    from datetime import timedelta

    from django.utils import timezone

    gateway = make_gateway(sim)
    m = map_default_layout(gateway)[RELAY_DEVICE - 1]  # the meter's relay is on
    # an operator's switch off lands while our read is on the wire (its time is after
    # the read was asked for; the simulator still answers "on")
    RegisterMap.objects.filter(pk=m.pk).update(
        relay_state=RelayState.DISCONNECTED, relay_changed_at=timezone.now() + timedelta(minutes=1)
    )
    assert services.relay_state_read(register_map=m).relay_state == RelayState.DISCONNECTED
    m.refresh_from_db()
    assert m.relay_state == RelayState.DISCONNECTED and m.relay_read_at is None
    assert not AuditEvent.objects.filter(action="relay.observed").exists()


def test_relay_state_read_failures_change_nothing(in_org_a, sim):
    gateway = make_gateway(sim, timeout_ms=150, retries=0)
    maps = map_default_layout(gateway)
    m = maps[RELAY_DEVICE - 1]
    sim.store.exceptions[RELAY_DEVICE] = 0x02
    with pytest.raises(Conflict, match="Could not read the relay: Modbus exception 0x02"):
        services.relay_state_read(register_map=m)
    with pytest.raises(Conflict, match="no relay"):
        services.relay_state_read(register_map=maps[0])
    m.refresh_from_db()
    assert m.relay_state == RelayState.UNKNOWN and m.relay_read_at is None
    assert not AuditEvent.objects.filter(action__startswith="relay").exists()


def test_relay_register_state_is_matched_to_the_profile_values(in_org_a, sim):
    from dataclasses import replace

    gateway = make_gateway(sim)
    m = map_default_layout(gateway)[RELAY_DEVICE - 1]
    profile = services.profile_copy(profile=m.profile, name="Valve on a register")
    services.profile_update(profile=profile, relay_kind="register", relay_address=40,
                            relay_on_value=1, relay_off_value=2)
    services.register_map_update(register_map=m, profile=profile)
    sim_meter = sim.store.meters[RELAY_DEVICE]
    sim_meter.profile = replace(sim_meter.profile, relay_kind="register", relay_address=40,
                                relay_on_value=1, relay_off_value=2)
    sim_meter.set_relay(False, 1_772_445_600.0)
    m = RegisterMap.objects.select_related("profile", "gateway", "meter").get(pk=m.pk)
    assert services.relay_state_read(register_map=m).relay_state == RelayState.DISCONNECTED
    sim_meter.profile = replace(sim_meter.profile, relay_off_value=7)  # the meter says 7
    with pytest.raises(Conflict, match="holds 7, which is neither"):
        services.relay_state_read(register_map=m)


def test_gateway_schedule_follows_its_configuration(in_org_a):
    gateway = make_gateway(None, poll_interval_s=300)
    task = PeriodicTask.objects.get(name=f"gateway-poll-{gateway.public_id}")
    assert task.task == "gateways.tasks.gateway_poll_task" and task.args == f"[{gateway.pk}]"
    assert task.interval.every == 300 and task.enabled
    services.gateway_update(gateway=gateway, poll_interval_s=60, enabled=False)
    task.refresh_from_db()
    assert task.interval.every == 60 and not task.enabled
    services.gateway_delete(gateway=gateway)
    assert not PeriodicTask.objects.filter(name__contains=str(gateway.public_id)).exists()


def test_task_polls_once_per_slot(in_org_a, sim):
    gateway = make_gateway(sim)
    map_default_layout(gateway, 2)
    first = gateway_poll_task.delay(gateway.pk).get()
    second = gateway_poll_task.delay(gateway.pk).get()
    assert "2 of 2 meters read" in first
    assert second == "slot already polled"
    assert PollRun.objects.count() == 1
    assert gateway_poll_task.delay(10**9).get() == "gone"


def test_poll_now_is_queued_after_commit_and_claims_a_manual_slot(
    in_org_a, sim, django_capture_on_commit_callbacks
):
    gateway = make_gateway(sim)
    map_default_layout(gateway, 1)
    services.gateway_poll(gateway=gateway)  # the scheduled poll of this slot
    with django_capture_on_commit_callbacks(execute=True):
        services.gateway_poll_request(gateway=gateway, actor=in_org_a.operator)
    runs = list(PollRun.objects.order_by("started_at").values_list("manual", flat=True))
    assert runs == [False, True]
    assert AuditEvent.objects.filter(action="gateway.poll_now").exists()


def test_builtin_profiles_exist_and_are_read_only(in_org_a):
    services.profile_builtins_ensure()
    services.profile_builtins_ensure()
    assert Profile.objects.exclude(builtin="").count() == len(BUILTIN_PROFILES)
    sdm = Profile.objects.get(builtin="eastron-sdm630")
    energy = sdm.reading_value()
    assert (energy.function_code, energy.address, energy.data_type) == (4, 0x48, "f32")
    assert energy.printed_number == 30073
    em24 = Profile.objects.get(builtin="carlo-gavazzi-em24").reading_value()
    assert (em24.address, em24.word_order, em24.scale) == (0x34, "little", Decimal("0.1"))
    schneider = Profile.objects.get(builtin="schneider-iem3255").reading_value()
    assert schneider.data_type == "i64" and schneider.scale == Decimal("0.001")
    with pytest.raises(Conflict):
        services.profile_update(profile=sdm, name="Mine")
    with pytest.raises(Conflict):
        services.profile_delete(profile=sdm)
    copy = services.profile_copy(profile=sdm, name="My SDM630")
    assert copy.values.count() == sdm.values.count() and not copy.is_builtin


def test_profile_values_are_validated_by_row(in_org_a):
    value = {"key": "e", "label": "E", "function_code": 4, "address": 0, "data_type": "f32",
             "word_order": "big", "scale": Decimal(1), "unit": "kWh", "is_reading": True}
    with pytest.raises(ValidationError) as exc:
        services.profile_create(name="Bad", values=[value, {**value, "key": "f"}])
    assert "Exactly one value" in str(exc.value.message_dict["values"])
    with pytest.raises(ValidationError) as exc:
        services.profile_create(name="Bad", values=[{**value, "address": 65535}])
    assert "passes 65535" in str(exc.value.message_dict["values"])
    with pytest.raises(ValidationError) as exc:
        services.profile_create(name="Bad", values=[{**value, "data_type": "f16"}])
    assert "Value 1: data_type" in str(exc.value.message_dict["values"])
    assert not Profile.objects.filter(name="Bad").exists()


def test_register_map_refuses_wrong_meter_type_unit_and_duplicates(in_org_a):
    gateway = make_gateway(None)
    services.profile_builtins_ensure()
    sdm = Profile.objects.get(builtin="eastron-sdm120")
    water = make_meter("W-1", type="cold_water", unit="m³")
    with pytest.raises(ValidationError) as exc:
        services.register_map_create(meter=water, gateway=gateway, device_id=1, profile=sdm)
    assert "electricity" in exc.value.message_dict["profile"][0]
    wh = make_meter("E-WH", unit="Wh")
    with pytest.raises(ValidationError) as exc:
        services.register_map_create(meter=wh, gateway=gateway, device_id=1, profile=sdm)
    assert "kWh" in exc.value.message_dict["profile"][0]
    m = map_meter(gateway, 1, sdm)
    with pytest.raises(ValidationError) as exc:
        map_meter(gateway, 1, sdm, serial="E-2")
    assert "device_id" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.register_map_create(meter=m.meter, gateway=gateway, device_id=2, profile=sdm)
    assert "meter" in exc.value.message_dict
    assert RegisterMap.objects.count() == 1
    hot = make_meter("HW-1", type="hot_water", unit="m³")
    services.register_map_create(meter=hot, gateway=gateway, device_id=5,
                                 profile=Profile.objects.get(builtin="mbus-water"))


def test_polls_are_scoped_to_the_organization(in_org_a, world_b, sim):
    from billspree.core.scoping import organization_context

    gateway = make_gateway(sim)
    map_default_layout(gateway, 1)
    with organization_context(world_b.org):
        assert services.gateway_poll(gateway=gateway, now=T0) is None  # not B's to claim
    assert PollRun.objects.count() == 0 and sim.store.requests == 0


def test_history_prune_is_scheduled_and_drops_old_runs_and_errors(in_org_a, sim):
    import importlib
    from datetime import timedelta

    from django.apps import apps

    from gateways.tasks import gateways_history_prune

    migration = importlib.import_module("gateways.migrations.0002_history_prune_schedule")
    migration.schedule(apps, None)  # idempotent; a transactional test may have flushed it
    assert PeriodicTask.objects.get(name="gateways-history-prune").crontab.hour == "3"
    gateway = make_gateway(None, retries=0)
    map_default_layout(gateway, 1)
    from django.utils import timezone

    now = timezone.now()
    services.gateway_poll(gateway=gateway, now=now - timedelta(days=200))  # refused: run + error
    services.gateway_poll(gateway=gateway, now=now)
    assert gateways_history_prune.delay().get() == 2
    assert PollRun.objects.count() == 1 and GatewayError.objects.count() == 1


def test_dashboard_shows_gateway_health(in_org_a, sim):
    from tests.conftest import login_client

    gateway = make_gateway(sim)
    map_default_layout(gateway, 1)
    services.gateway_poll(gateway=gateway)
    page = login_client(in_org_a.viewer, in_org_a.org).get("/").content.decode()
    assert "Gateways offline" in page and "All 1 gateways answering" in page
