"""The demo's charts move: a gateway polling a real Modbus TCP server on 127.0.0.1 stores
the SDM630's total system power (30053) as it changes over the day, and the demo seeds
the past days of power, temperature and humidity from the very curves the simulator serves.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from gateways import services
from gateways.demo import HISTORY_DAYS, seed_measurement_history
from gateways.models import PollRun, Profile
from gateways.profiles import SENSOR_PROFILES
from gateways.services.sensors import sensor_map_create
from gateways.simulator import (
    AVERAGE_PER_HOUR,
    EPOCH,
    SimMeter,
    SimulatedGateway,
    SimulatorThread,
    daily_shape,
)
from meters import services as meter_services
from meters.models import Property
from readings.measurements.models import Measurement
from tests.gateways.helpers import T0, make_gateway, map_meter

pytestmark = pytest.mark.django_db


def float32(x: float) -> float:
    """What a float32 register holds of ``x`` (the SDM630 sends IEEE 754 single)."""
    return struct.unpack(">f", struct.pack(">f", x))[0]


def simulated_watts(per_hour: float, at: datetime) -> float:
    """The simulator's total power at an instant: per_hour kW × the daily shape."""
    t = at.timestamp()
    return per_hour * daily_shape(((t - EPOCH) / 3600) % 24) * 1000


def test_polls_store_the_changing_power_of_30053(in_org_a):
    from gateways.profiles import BUILTIN_PROFILES

    clock = [T0.timestamp()]
    meter = SimMeter(1, BUILTIN_PROFILES["eastron-sdm630"], base=1000.0, per_hour=0.8)
    store = SimulatedGateway([meter], clock=lambda: clock[0])
    with SimulatorThread(store) as sim:
        services.profile_builtins_ensure()
        gateway = make_gateway(sim, poll_measurements=True)
        register_map = map_meter(gateway, 1, Profile.objects.get(builtin="eastron-sdm630"))
        later = T0 + timedelta(hours=9)  # 10:00 UTC → 19:00 UTC, the evening peak
        for at in (T0, later):
            clock[0] = at.timestamp()
            run = services.gateway_poll(gateway=gateway, now=at)
            assert run.status == PollRun.Status.OK, run.summary
    power = list(Measurement.objects.filter(series__meter=register_map.meter,
                                            series__quantity="active_power")
                 .order_by("measured_at").values_list("measured_at", "value"))
    # 0.8 kW × shape(h): the shape at T0 and 9 h later, sent as float32
    # (the decoder keeps the shortest decimal that is the same float32)
    assert [t for t, _ in power] == [T0, later]
    assert [w for _, w in power] == [pytest.approx(float32(simulated_watts(0.8, T0)), rel=1e-7),
                                     pytest.approx(float32(simulated_watts(0.8, later)),
                                                   rel=1e-7)]
    assert power[0][1] != power[1][1]  # it moves
    assert all(100 < w < 2000 for _, w in power)  # 0.8 kW × a shape within 0.25 … 1.75


def test_the_demo_seeds_days_of_power_and_climate_from_the_simulator_curves(in_org_a):
    services.profile_builtins_ensure()
    gateway = make_gateway(None, poll_measurements=True)
    register_map = map_meter(gateway, 3, Profile.objects.get(builtin="eastron-sdm630"))
    sensor = meter_services.sensor_create(kind="temperature_humidity", serial_number="TH-1",
                                          property=Property.objects.get(name="Simulated site"))
    sensor_map_create(sensor=sensor, gateway=gateway, device_id=40, layout="sht20-xy-md02")
    now = datetime(2026, 12, 6, 12, 7, tzinfo=UTC)
    per_day = 96  # 15-minute steps
    assert seed_measurement_history(gateway, now=now) == HISTORY_DAYS * per_day * 3
    assert seed_measurement_history(gateway, now=now) == 0  # a re-run finds them stored
    at = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    power = Measurement.objects.get(series__meter=register_map.meter, measured_at=at).value
    per_hour = AVERAGE_PER_HOUR["electricity"] * (0.6 + (3 * 37 % 80) / 100)  # as --from-db
    assert power == round(simulated_watts(per_hour, at), 1)
    climate = SimMeter(40, SENSOR_PROFILES["sht20-xy-md02"])
    stored = dict(Measurement.objects.filter(series__sensor=sensor, measured_at=at)
                  .values_list("series__quantity", "value"))
    assert stored == {q: round(climate.measurement(q, 0.0, at.timestamp()), 2)
                      for q in ("temperature", "humidity")}
    last = Measurement.objects.filter(series__sensor=sensor).order_by("-measured_at").first()
    # up to the last 15-minute step before now (the live polls take it from there)
    assert last.measured_at == datetime(2026, 12, 6, 11, 45, tzinfo=UTC)
