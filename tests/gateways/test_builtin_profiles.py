"""Built-in profiles read what their makers document, end to end against a real server.

Every expected value here comes from the maker's register map (cited in
``gateways.profiles``), with the register words encoded by hand as the manual specifies
(function code, 0-based wire address, word order, weight): nothing is derived from the
profile definitions under test. The device serves exactly these words (``pinned_words``)
from a real pymodbus server on 127.0.0.1.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateways import services
from gateways.models import PollRun, Profile
from gateways.profiles import BUILTIN_PROFILES
from gateways.simulator import SimMeter
from tests.gateways.helpers import T0, make_gateway, map_meter, readings_of

HOLDING, INPUT = 3, 4

# (profile, {function code: {address: word}}, the reading the manual's numbers give)
CASES = [
    # Eastron SDM630: 30073 Total import kWh = input register address 72 (0x0048), IEEE 754
    # float high word first. 1234.5 = 0x449A5000.
    ("eastron-sdm630", {INPUT: {0x0048: 0x449A, 0x0049: 0x5000}}, Decimal("1234.5")),
    # Eastron SDM120: 30073 Import active energy, the same encoding. 0.5 = 0x3F000000.
    ("eastron-sdm120", {INPUT: {0x0048: 0x3F00, 0x0049: 0x0000}}, Decimal("0.5")),
    # Carlo Gavazzi EM24-DIN: 0034h kWh (+) TOT, INT32 least significant word first,
    # weight kWh×10. 123456.7 kWh → 1234567 = 0x0012D687 → words D687h, 0012h. The
    # per-phase counters around it hold other numbers (L1 400.1, L2 45000.0, L3 78055.6
    # kWh): a profile reading one of them bills one phase.
    (
        "carlo-gavazzi-em24",
        {
            HOLDING: {
                0x0034: 0xD687, 0x0035: 0x0012,  # kWh (+) TOT 123456.7
                0x0040: 0x0FA1, 0x0041: 0x0000,  # kWh (+) L1 400.1 (4001)
                0x0042: 0xDDD0, 0x0043: 0x0006,  # kWh (+) L2 45000.0 (450000)
                0x0044: 0xE90C, 0x0045: 0x000B,  # kWh (+) L3 78055.6 (780556)
            }
        },
        Decimal("123456.7"),
    ),
    # Schneider iEM3255: register 3204 Total Active Energy Import, INT64 in Wh, holding
    # register address 3203, high word first. 98,765,432,101 Wh = 0x00000016FEE0E525.
    (
        "schneider-iem3255",
        {HOLDING: {3203: 0x0000, 3204: 0x0016, 3205: 0xFEE0, 3206: 0xE525}},
        Decimal("98765432.101"),
    ),
    # Generic converters: the documented layout of the profile (u32 high word first).
    ("mbus-water", {HOLDING: {0: 0x0001, 1: 0xE240}}, Decimal("123.456")),  # 123456 l
    ("mbus-heat", {HOLDING: {0: 0x0000, 1: 0xD431}}, Decimal("54321")),  # kWh
    ("prepaid-relay", {HOLDING: {0: 0x0012, 1: 0xD687}}, Decimal("12345.67")),  # 1/100 kWh
]


def test_every_builtin_profile_has_a_case_and_cites_its_document():
    assert {key for key, _, _ in CASES} == set(BUILTIN_PROFILES)
    for definition in BUILTIN_PROFILES.values():
        assert definition.source, definition.key


@pytest.mark.parametrize(("key", "words", "expected"), CASES, ids=[c[0] for c in CASES])
def test_builtin_profile_reads_the_register_its_maker_documents(in_org_a, sim, key, words,
                                                                 expected):
    services.profile_builtins_ensure()
    profile = Profile.objects.get(builtin=key)
    sim.store.meters[20] = SimMeter(20, BUILTIN_PROFILES[key], pinned_words=words)
    gateway = make_gateway(sim)
    register_map = map_meter(gateway, 20, profile)
    register_map.meter.register_digits = 12
    register_map.meter.save()
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.OK, run.summary
    (_, value, _), = readings_of(register_map)
    assert value == expected


def test_em24_copy_shows_where_its_numbers_come_from(in_org_a):
    services.profile_builtins_ensure()
    em24 = Profile.objects.get(builtin="carlo-gavazzi-em24")
    reading = em24.reading_value()
    assert (reading.function_code, reading.address) == (3, 0x0034)
    assert "EM24-DIN Communication Protocol" in em24.description
    assert "0034h kWh (+) TOT" in em24.description


def test_float32_reading_is_stored_as_the_meter_shows_it(in_org_a, sim):
    """An SDM630 whose display shows 12345.678 kWh sends 0x4640E6B6 (12345.677734375):
    the reading is 12345.678, not 12345.68 (another float32) nor the binary noise."""
    services.profile_builtins_ensure()
    sdm630 = BUILTIN_PROFILES["eastron-sdm630"]
    sim.store.meters[21] = SimMeter(21, sdm630, pinned_words={INPUT: {0x48: 0x4640, 0x49: 0xE6B6}})
    gateway = make_gateway(sim)
    register_map = map_meter(gateway, 21, Profile.objects.get(builtin="eastron-sdm630"))
    services.gateway_poll(gateway=gateway, now=T0)
    (_, value, _), = readings_of(register_map)
    assert value == Decimal("12345.678")
