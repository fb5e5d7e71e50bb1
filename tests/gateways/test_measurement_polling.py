"""Gateways poll the measurement registers the makers document, after the readings.

A real pymodbus server on 127.0.0.1 serves register words written here as the maker's
manual encodes them (IEEE 754 float32 high word first for Eastron and Schneider, INT32
low word first with a weight for Carlo Gavazzi), pinned over the simulation; the poll
must store exactly the values those words mean, in the quantity's unit (W, V, A, Hz),
and read the energy register exactly as it does without measurements.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateways import services
from gateways.models import PollRun, Profile
from gateways.profiles import BUILTIN_PROFILES
from gateways.simulator import SimMeter
from readings.measurements.models import Measurement
from tests.gateways.helpers import T0, make_gateway, map_meter, readings_of

HOLDING, INPUT = 3, 4


def measured(register_map) -> dict[str, float]:
    rows = Measurement.objects.filter(series__meter=register_map.meter, measured_at=T0)
    return dict(rows.values_list("series__quantity", "value"))


def poll(sim, key: str, words: dict, *, poll_measurements: bool = True, device: int = 20,
         profile_def=None):
    services.profile_builtins_ensure()
    profile = Profile.objects.get(builtin=key)
    sim.store.meters[device] = SimMeter(device, profile_def or BUILTIN_PROFILES[key],
                                        pinned_words=words)
    gateway = make_gateway(sim, poll_measurements=poll_measurements)
    register_map = map_meter(gateway, device, profile)
    register_map.meter.register_digits = 12
    register_map.meter.save()
    sim.store.reads.clear()
    run = services.gateway_poll(gateway=gateway, now=T0)
    return run, register_map


# Eastron SDM630, input registers (function 04), float32 high word first (30001 → 0).
SDM630_WORDS = {INPUT: {
    0x00: 0x4367, 0x01: 0x8000,  # 30001 V L1-N 231.5
    0x02: 0x4365, 0x03: 0xC000,  # 30003 V L2-N 229.75
    0x04: 0x4366, 0x05: 0x4000,  # 30005 V L3-N 230.25
    0x06: 0x4090, 0x07: 0x0000,  # 30007 I L1 4.5 A
    0x08: 0x4050, 0x09: 0x0000,  # 30009 I L2 3.25 A
    0x0A: 0x4000, 0x0B: 0x0000,  # 30011 I L3 2.0 A
    0x0C: 0x4482, 0x0D: 0x0000,  # 30013 P L1 1040 W
    0x0E: 0x443A, 0x0F: 0xA000,  # 30015 P L2 746.5 W
    0x10: 0x43E6, 0x11: 0x0000,  # 30017 P L3 460 W
    0x1E: 0x3F60, 0x1F: 0x0000,  # 30031 PF L1 0.875
    0x20: 0x3F40, 0x21: 0x0000,  # 30033 PF L2 0.75
    0x22: 0xBF00, 0x23: 0x0000,  # 30035 PF L3 -0.5 (sign: nature of the load)
    0x34: 0x450C, 0x35: 0x6800,  # 30053 total system power 2246.5 W
    0x3E: 0x3F50, 0x3F: 0x0000,  # 30063 total system PF 0.8125
    0x46: 0x4248, 0x47: 0x0000,  # 30071 frequency 50.0 Hz
    0x48: 0x449A, 0x49: 0x5000,  # 30073 total import 1234.5 kWh (the reading)
}}
SDM630_EXPECTED = {
    "voltage_l1": 231.5, "voltage_l2": 229.75, "voltage_l3": 230.25,
    "current_l1": 4.5, "current_l2": 3.25, "current_l3": 2.0,
    "active_power_l1": 1040.0, "active_power_l2": 746.5, "active_power_l3": 460.0,
    "power_factor_l1": 0.875, "power_factor_l2": 0.75, "power_factor_l3": -0.5,
    "active_power": 2246.5, "power_factor": 0.8125, "frequency": 50.0,
}

# Carlo Gavazzi EM24: function 03, INT32 least significant word first, weights V×10,
# A×1000, W×10; Hz×10 in one register.
EM24_WORDS = {HOLDING: {
    0x00: 0x090B, 0x01: 0x0000,  # V L1-N 2315 → 231.5 V
    0x02: 0x08FA, 0x03: 0x0000,  # V L2-N 2298 → 229.8 V
    0x04: 0x0906, 0x05: 0x0000,  # V L3-N 2310 → 231.0 V
    0x0C: 0x1194, 0x0D: 0x0000,  # A L1 4500 → 4.5 A
    0x0E: 0x0CB2, 0x0F: 0x0000,  # A L2 3250 → 3.25 A
    0x10: 0x0000, 0x11: 0x0000,  # A L3 0
    0x12: 0x28A0, 0x13: 0x0000,  # W L1 10400 → 1040 W
    0x14: 0x1D29, 0x15: 0x0000,  # W L2 7465 → 746.5 W
    0x16: 0xFC18, 0x17: 0xFFFF,  # W L3 -1000 → -100 W (exported)
    0x28: 0x4DFD, 0x29: 0x0000,  # W sys 19965 → 1996.5 W
    0x33: 0x01F4,                # Hz 500 → 50.0 Hz
    0x34: 0xD687, 0x35: 0x0012,  # kWh (+) TOT 1234567 → 123456.7 kWh (the reading)
}}
EM24_EXPECTED = {
    "voltage_l1": 231.5, "voltage_l2": 229.8, "voltage_l3": 231.0,
    "current_l1": 4.5, "current_l2": 3.25, "current_l3": 0.0,
    "active_power_l1": 1040.0, "active_power_l2": 746.5, "active_power_l3": -100.0,
    "active_power": 1996.5, "frequency": 50.0,
}

# Schneider iEM3255: function 03, float32 high word first, register number − 1; power in kW.
IEM3255_WORDS = {HOLDING: {
    2999: 0x4090, 3000: 0x0000,  # 3000 I1 4.5 A
    3001: 0x4050, 3002: 0x0000,  # 3002 I2 3.25 A
    3003: 0x4000, 3004: 0x0000,  # 3004 I3 2.0 A
    3027: 0x4367, 3028: 0x8000,  # 3028 V L1-N 231.5
    3029: 0x4365, 3030: 0xC000,  # 3030 V L2-N 229.75
    3031: 0x4366, 3032: 0x4000,  # 3032 V L3-N 230.25
    3053: 0x3FC0, 3054: 0x0000,  # 3054 P1 1.5 kW
    3055: 0x4050, 3056: 0x0000,  # 3056 P2 3.25 kW
    3057: 0x4000, 3058: 0x0000,  # 3058 P3 2.0 kW
    3059: 0x40D8, 3060: 0x0000,  # 3060 P total 6.75 kW
    3109: 0x4247, 3110: 0x8000,  # 3110 frequency 49.875 Hz
    3203: 0x0000, 3204: 0x0016, 3205: 0xFEE0, 3206: 0xE525,  # 3204 energy (the reading)
}}
IEM3255_EXPECTED = {
    "current_l1": 4.5, "current_l2": 3.25, "current_l3": 2.0,
    "voltage_l1": 231.5, "voltage_l2": 229.75, "voltage_l3": 230.25,
    "active_power_l1": 1500.0, "active_power_l2": 3250.0, "active_power_l3": 2000.0,
    "active_power": 6750.0, "frequency": 49.875,
}


@pytest.mark.parametrize(("key", "words", "expected"), [
    ("eastron-sdm630", SDM630_WORDS, SDM630_EXPECTED),
    ("carlo-gavazzi-em24", EM24_WORDS, EM24_EXPECTED),
    ("schneider-iem3255", IEM3255_WORDS, IEM3255_EXPECTED),
], ids=["sdm630", "em24", "iem3255"])
def test_a_poll_stores_the_measurements_the_maker_documents(in_org_a, sim, key, words,
                                                           expected):
    run, register_map = poll(sim, key, words)
    assert run.status == PollRun.Status.OK, run.summary
    assert measured(register_map) == expected
    assert f"{len(expected)} measurements stored" in run.summary
    reading = BUILTIN_PROFILES[key].reading
    # the energy register is read first, alone, exactly as without measurements
    assert sim.store.reads[0] == (20, reading.function_code, reading.address,
                                  {"f32": 2, "i32": 2, "i64": 4}[reading.data_type])
    assert all(r[2] != reading.address for r in sim.store.reads[1:])
    (_, value, _), = readings_of(register_map)
    assert value > 0


def test_without_poll_measurements_the_wire_is_as_before(in_org_a, sim):
    run, register_map = poll(sim, "eastron-sdm630", SDM630_WORDS, poll_measurements=False)
    assert run.status == PollRun.Status.OK and run.requests == 1
    assert sim.store.reads == [(20, INPUT, 0x48, 2)]
    assert measured(register_map) == {}


def test_a_device_serving_only_its_energy_register_keeps_its_reading_and_health(in_org_a,
                                                                                 sim):
    """An independent server that implements the energy register only answers every
    measurement request with "illegal data address": the reading, the run's status and
    the meter's health are what they would be without measurements."""
    only_energy = replace(BUILTIN_PROFILES["eastron-sdm630"],
                          values=(BUILTIN_PROFILES["eastron-sdm630"].reading,))
    run, register_map = poll(sim, "eastron-sdm630", {INPUT: {0x48: 0x449A, 0x49: 0x5000}},
                             profile_def=only_energy)
    assert run.status == PollRun.Status.OK, run.summary
    assert run.meters_ok == 1 and run.error_count == 0
    (_, value, _), = readings_of(register_map)
    assert str(value) == "1234.5000"
    assert measured(register_map) == {}
    assert "15 values not read" in run.summary and "illegal data address" in run.summary
    # the five measurement blocks (V/I/P, PF by phase, P total, PF total, Hz) came after
    assert sim.store.reads[0] == (20, INPUT, 0x48, 2)
    assert sorted(r[2:] for r in sim.store.reads[1:]) == [(0, 18), (30, 6), (52, 2), (62, 2),
                                                         (70, 2)]
    register_map.refresh_from_db()
    assert register_map.consecutive_failures == 0 and register_map.last_error == ""


def test_a_dead_meter_is_not_asked_for_its_measurements(in_org_a, sim):
    sim.store.exceptions[20] = 0x0B  # the gateway says the device did not answer
    run, register_map = poll(sim, "eastron-sdm630", SDM630_WORDS)
    assert run.status == PollRun.Status.FAILED
    assert {r[2] for r in sim.store.reads} == {0x48}  # retried, but only the reading
    assert measured(register_map) == {}


def test_an_environmental_sensor_on_the_bus_becomes_temperature_and_humidity(in_org_a, sim):
    """An SHT20 transmitter (XY-MD02): input registers 1 and 2, tenths of °C (signed) and
    of %RH. −4.5 °C is the signed word 0xFFD3 (−45), 63.2 % is 632 = 0x0278."""
    from gateways.profiles import SENSOR_PROFILES
    from gateways.services.sensors import sensor_map_create
    from meters import services as meter_services
    from meters.models import Property

    gateway = make_gateway(sim, poll_measurements=True)
    sensor = meter_services.sensor_create(
        kind="temperature_humidity", serial_number="TH-20", area="Cold store",
        property=Property.objects.get(name="Simulated site"))
    sensor_map = sensor_map_create(sensor=sensor, gateway=gateway, device_id=30,
                                   layout="sht20-xy-md02")
    sim.store.meters[30] = SimMeter(30, SENSOR_PROFILES["sht20-xy-md02"],
                                    pinned_words={INPUT: {1: 0xFFD3, 2: 0x0278}})
    sim.store.reads.clear()
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.OK, run.summary
    rows = Measurement.objects.filter(series__sensor=sensor).values_list(
        "series__quantity", "measured_at", "value", "source")
    assert sorted(rows) == [("humidity", T0, 63.2, "gateway"),
                            ("temperature", T0, -4.5, "gateway")]
    assert sim.store.reads == [(30, INPUT, 1, 2)]  # both values in one request
    sensor_map.refresh_from_db()
    assert sensor_map.last_success_at == T0
    # the slot is taken: a repeated poll of it reads nothing and stores nothing twice
    assert services.gateway_poll(gateway=gateway, now=T0) is None
    assert Measurement.objects.filter(series__sensor=sensor).count() == 2


def test_a_device_id_is_either_a_meter_or_a_sensor(in_org_a, sim):
    from django.core.exceptions import ValidationError

    from gateways.services.sensors import sensor_map_create
    from meters import services as meter_services
    from meters.models import Property

    gateway = make_gateway(sim)
    map_meter(gateway, 20, Profile.objects.get(builtin="eastron-sdm630"))
    sensor = meter_services.sensor_create(kind="temperature", serial_number="T-21",
                                          property=Property.objects.get(name="Simulated site"))
    with pytest.raises(ValidationError) as exc:
        sensor_map_create(sensor=sensor, gateway=gateway, device_id=20, layout="sht20-xy-md02")
    assert "Device 20 on Sim gateway is meter SIM-" in str(exc.value)
