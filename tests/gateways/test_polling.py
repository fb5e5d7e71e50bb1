"""Polls against a real pymodbus TCP server on 127.0.0.1: readings, idempotency, faults."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from gateways import services
from gateways.decoding import value_from_registers
from gateways.models import GatewayError, Health, PollRun, Profile
from gateways.profiles import ProfileDef, ValueDef
from gateways.simulator import SimMeter, encode
from readings.models import Reading, Upload
from tests.gateways.helpers import (
    T0,
    make_gateway,
    map_default_layout,
    map_meter,
    readings_of,
    slot,
)

FROZEN = 1_772_445_600.0  # the simulator's clock: 2026-03-02 10:00 UTC


@pytest.fixture
def frozen(sim):
    sim.store.clock = lambda: FROZEN
    return sim


def expected(sim, device_id: int) -> Decimal:
    """What the meter's reading register holds, decoded like a poll does."""
    meter = sim.store.meters[device_id]
    spec = meter.profile.reading
    words = encode(meter.raw(spec, FROZEN), spec.data_type, spec.word_order)
    return value_from_registers(words, spec.data_type, spec.word_order, spec.scale)


def test_poll_reads_every_builtin_profile_and_stores_readings(in_org_a, frozen):
    gateway = make_gateway(frozen)
    maps = map_default_layout(gateway)
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.OK, run.summary
    assert run.meters_ok == 7 and run.readings_stored == 7 and run.error_count == 0
    for m in maps:
        (read_at, value, source), = readings_of(m)
        assert read_at == T0 and source == "gateway"
        assert value == expected(frozen, m.device_id), m.profile.name
        assert value > 0
    upload = Upload.objects.get(source="gateway")
    assert upload.created_count == 7 and upload.status == "done"
    gateway.refresh_from_db()
    assert gateway.last_success_at == T0 and gateway.consecutive_failures == 0
    assert gateway.health(now=T0) == Health.ONLINE


def test_contiguous_registers_are_read_in_one_request(in_org_a, frozen):
    gateway = make_gateway(frozen)
    map_default_layout(gateway)
    before = frozen.store.requests
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.requests == 7  # one per device: each reading register in one request
    assert frozen.store.requests - before == 7


def test_poll_twice_in_one_slot_stores_one_reading(in_org_a, sim):
    gateway = make_gateway(sim)
    m, *_ = map_default_layout(gateway, 1)
    assert services.gateway_poll(gateway=gateway, now=T0) is not None
    # The beat fires again a few seconds later (or a redelivered task): same slot.
    assert services.gateway_poll(gateway=gateway, now=slot(0).replace(second=20)) is None
    assert len(readings_of(m)) == 1
    assert PollRun.objects.count() == 1
    assert services.gateway_poll(gateway=gateway, now=slot(1)) is not None
    assert len(readings_of(m)) == 2


def test_slot_is_the_nearest_multiple_of_the_interval():
    early = T0.replace(minute=14, second=58)
    late = T0.replace(minute=15, second=3)
    assert services.poll_slot(early, 900) == services.poll_slot(late, 900) == slot(1)


DATA_TYPES = [
    ("u16", "big", 54321, Decimal("0.1")),
    ("i16", "big", 12345, Decimal("0.1")),
    ("u32", "big", 3_000_000_000, Decimal("0.01")),
    ("u32", "little", 3_000_000_001, Decimal("0.01")),
    ("i32", "big", 123_456_789, Decimal("0.01")),
    ("i32", "little", 123_456_788, Decimal("0.01")),
    ("u64", "big", 2**40 + 5, Decimal("0.001")),
    ("u64", "little", 2**40 + 7, Decimal("0.001")),
    ("i64", "big", 98_765_432_101, Decimal("0.001")),
    ("i64", "little", 98_765_432_103, Decimal("0.001")),
    ("f32", "big", 12345.67, Decimal("1")),
    ("f32", "little", 7654.321, Decimal("1")),
    ("f64", "big", 123456789.125, Decimal("1")),
    ("f64", "little", 987654321.0625, Decimal("1")),
]


@pytest.mark.parametrize(("data_type", "word_order", "raw", "scale"), DATA_TYPES)
def test_every_data_type_and_word_order_end_to_end(in_org_a, sim, data_type, word_order,
                                                    raw, scale):
    profile = services.profile_create(
        name=f"Test {data_type} {word_order}", meter_type="electricity",
        values=[{"key": "energy", "label": "Energy", "function_code": 3, "address": 100,
                 "data_type": data_type, "word_order": word_order, "scale": scale,
                 "unit": "kWh", "is_reading": True}],
    )
    spec = ValueDef("energy", "Energy", 3, 100, data_type, word_order, scale, "kWh", True)
    definition = ProfileDef("t", "t", "t", "electricity", "", (spec,))
    sim.store.meters[9] = SimMeter(9, definition, fixed={"energy": float(raw) * float(scale)})
    gateway = make_gateway(sim)
    m = map_meter(gateway, 9, profile)
    m.meter.register_digits = 15
    m.meter.save()
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.OK, run.summary
    (_, value, _), = readings_of(m)
    if data_type.startswith("f"):
        assert math.isclose(float(value), raw, rel_tol=1e-6)
    else:
        assert value == Decimal(raw) * scale


def test_stalled_gateway_times_out_records_error_and_recovers(in_org_a, sim):
    gateway = make_gateway(sim, timeout_ms=150, retries=1)
    m, *_ = map_default_layout(gateway, 1)
    sim.store.stall_s = 0.6
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.FAILED
    assert readings_of(m) == []
    error = GatewayError.objects.get()
    assert error.kind == GatewayError.Kind.TIMEOUT and error.register_map == m
    gateway.refresh_from_db()
    assert gateway.consecutive_failures == 1 and gateway.last_success_at is None
    sim.store.stall_s = 0
    run = services.gateway_poll(gateway=gateway, now=slot(1))
    assert run.status == PollRun.Status.OK
    assert len(readings_of(m)) == 1
    gateway.refresh_from_db()
    assert gateway.consecutive_failures == 0 and gateway.error_count == 1


def test_exception_codes_are_errors_of_that_meter_only(in_org_a, sim):
    gateway = make_gateway(sim)
    maps = map_default_layout(gateway, 3)
    unknown = map_meter(gateway, 42, Profile.objects.get(builtin="eastron-sdm120"))
    sim.store.exceptions[2] = 0x02  # illegal data address
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.PARTIAL
    errors = {e.register_map_id: e for e in GatewayError.objects.all()}
    assert errors[maps[1].pk].exception_code == 0x02
    assert "illegal data address" in errors[maps[1].pk].message
    assert errors[unknown.pk].exception_code == 0x0B  # the gateway: device did not answer
    assert set(errors) == {maps[1].pk, unknown.pk}
    assert len(readings_of(maps[0])) == 1 and len(readings_of(maps[2])) == 1
    assert readings_of(maps[1]) == [] and readings_of(unknown) == []
    gateway.refresh_from_db()
    assert gateway.health(now=T0) == Health.DEGRADED  # answering, but with errors
    maps[1].refresh_from_db()
    assert maps[1].consecutive_failures == 1 and maps[1].last_error.startswith("device 2")


def test_dropped_connection_is_retried_on_a_new_connection(in_org_a, sim):
    gateway = make_gateway(sim, timeout_ms=200, retries=1)
    maps = map_default_layout(gateway, 2)
    sim.store.drop_next = 1
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.OK, run.summary
    assert all(len(readings_of(m)) == 1 for m in maps)


def test_dropped_connection_without_retries_is_an_error_and_next_poll_recovers(in_org_a, sim):
    gateway = make_gateway(sim, timeout_ms=200, retries=0)
    m, *_ = map_default_layout(gateway, 1)
    sim.store.drop_next = 1
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.FAILED
    assert GatewayError.objects.get().kind in ("timeout", "connection")
    assert readings_of(m) == []
    assert services.gateway_poll(gateway=gateway, now=slot(1)).status == PollRun.Status.OK
    assert len(readings_of(m)) == 1


def test_nan_is_an_error_not_a_reading(in_org_a, sim):
    gateway = make_gateway(sim)
    m, *_ = map_default_layout(gateway, 1)  # SDM630, float32
    sim.store.meters[1].fixed["energy_import"] = math.nan
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.FAILED
    error = GatewayError.objects.get()
    assert error.kind == GatewayError.Kind.INVALID_VALUE and "NaN" in error.message
    assert readings_of(m) == []
    del sim.store.meters[1].fixed["energy_import"]
    services.gateway_poll(gateway=gateway, now=slot(1))
    assert len(readings_of(m)) == 1


def test_negative_value_is_an_error_not_a_reading(in_org_a, sim):
    gateway = make_gateway(sim)
    maps = map_default_layout(gateway, 3)  # device 3: EM24, signed int32
    sim.store.meters[3].fixed["energy_import"] = -5.0
    services.gateway_poll(gateway=gateway, now=T0)
    error = GatewayError.objects.get()
    assert error.register_map == maps[2] and "negative" in error.message
    assert readings_of(maps[2]) == []


def test_backwards_value_is_rejected_by_ingestion_and_recorded(in_org_a, frozen):
    gateway = make_gateway(frozen)
    m, *_ = map_default_layout(gateway, 1)
    services.gateway_poll(gateway=gateway, now=T0)
    (_, first, _), = readings_of(m)
    frozen.store.meters[1].fixed["energy_import"] = float(first) - 100
    run = services.gateway_poll(gateway=gateway, now=slot(1))
    assert run.status == PollRun.Status.FAILED and run.readings_stored == 0
    error = GatewayError.objects.get()
    assert error.kind == GatewayError.Kind.REJECTED
    assert "lower" in error.message.lower() or "previous" in error.message.lower()
    assert len(readings_of(m)) == 1
    m.refresh_from_db()
    assert m.last_value == first  # the bogus value did not become the meter's state


def test_unreachable_gateway_goes_offline_after_n_missed_polls(in_org_a):
    gateway = make_gateway(None, retries=1, offline_after=2)  # port 1: refused
    m = map_meter(gateway, 1, Profile.objects.get(builtin="eastron-sdm120"))
    services.gateway_poll(gateway=gateway, now=T0)
    gateway.refresh_from_db()
    assert gateway.health(now=T0) == Health.DEGRADED
    services.gateway_poll(gateway=gateway, now=slot(1))
    gateway.refresh_from_db()
    assert gateway.consecutive_failures == 2
    assert gateway.health(now=slot(1)) == Health.OFFLINE
    assert GatewayError.objects.filter(kind="connection").count() == 2
    assert Reading.objects.filter(meter=m.meter).count() == 0


def test_silent_gateway_goes_offline_when_polls_stop(in_org_a, sim):
    gateway = make_gateway(sim, offline_after=3)
    map_default_layout(gateway, 1)
    services.gateway_poll(gateway=gateway, now=T0)
    gateway.refresh_from_db()
    assert gateway.health(now=slot(2)) == Health.ONLINE
    assert gateway.health(now=slot(4)) == Health.OFFLINE  # nothing for 3 intervals


def test_disabled_gateway_is_not_polled(in_org_a, sim):
    gateway = make_gateway(sim, enabled=False)
    map_default_layout(gateway, 1)
    assert services.gateway_poll(gateway=gateway, now=T0) is None
    assert sim.store.requests == 0
    assert gateway.health(now=T0) == Health.DISABLED


def test_many_gateways_are_polled_concurrently(in_org_a, sim):
    gateways = [make_gateway(sim, name=f"GW {i}") for i in range(3)]
    for i, g in enumerate(gateways):
        map_meter(g, i + 1, Profile.objects.get(builtin=["eastron-sdm630", "eastron-sdm120",
                                                           "carlo-gavazzi-em24"][i]))
    runs = services.gateways_poll(gateways=gateways, now=T0)
    assert [r.status for r in runs] == ["ok"] * 3
    assert Reading.objects.count() == 3


def test_gateway_without_meters_is_still_checked_for_connectivity(in_org_a, sim):
    alive = make_gateway(sim, name="Alive")
    dead = make_gateway(None, name="Dead", offline_after=1)
    runs = services.gateways_poll(gateways=[alive, dead], now=T0)
    assert [r.status for r in runs] == ["ok", "failed"]
    alive.refresh_from_db()
    dead.refresh_from_db()
    assert alive.health(now=T0) == Health.ONLINE
    assert dead.health(now=T0) == Health.OFFLINE and "Cannot connect" in dead.last_error
    assert GatewayError.objects.get().gateway == dead


def test_rtu_over_tcp_gateway(in_org_a):
    """A transparent serial server: RTU frames (with CRC) through a TCP socket."""
    from gateways.simulator import SimulatedGateway, SimulatorThread, default_layout, make_meters

    store = SimulatedGateway(make_meters(default_layout(3)))
    with SimulatorThread(store, rtu_over_tcp=True) as rtu:
        gateway = make_gateway(rtu, name="Serial server", transport="rtu_over_tcp")
        maps = map_default_layout(gateway, 3)
        run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.OK, run.summary
    assert all(len(readings_of(m)) == 1 for m in maps)
