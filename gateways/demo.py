"""Demo data: a gateway pointing at the local Modbus simulator, with some meters mapped.

``seed(org)`` is idempotent. The simulator (``manage.py modbus_simulator --port 5020
--from-db``, started by the demo after seeding) then emulates exactly these meters,
starting at their last readings, so new readings arrive every minute.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import cycle

from billspree.core.models import Organization
from gateways import services
from gateways.models import Gateway, Profile, RegisterMap, SensorMap
from gateways.profiles import SENSOR_PROFILES
from gateways.simulator import EPOCH, SimMeter, daily_shape, device_per_hour
from meters.models import Meter, MeterAssignment, Property, Sensor
from readings.measurements.ingest import measurements_store, series_ensure
from readings.measurements.models import Source

DEMO_NAME = "Basement gateway (simulator)"
DEMO_HOST = "127.0.0.1"
#: Measurement history the demo starts with (so its power and temperature charts have a
#: past), at the step of a 15-minute aggregate.
HISTORY_DAYS = 3
HISTORY_STEP = timedelta(minutes=15)
QUOTA = {"electricity": 8, "mbus-water": 2, "mbus-heat": 2}
ELECTRIC = (
    "eastron-sdm630",
    "eastron-sdm120",
    "carlo-gavazzi-em24",
    "schneider-iem3255",
    "prepaid-relay",
)
BY_TYPE = {
    ("cold_water", "m³"): "mbus-water",
    ("hot_water", "m³"): "mbus-water",
    ("heat", "kWh"): "mbus-heat",
}


def simulator_port() -> int:
    """The simulator's port: ``GATEWAYS_SIMULATOR_PORT`` (read when used, as the demo
    command reads it), 5020 by default."""
    return int(os.environ.get("GATEWAYS_SIMULATOR_PORT", "5020"))


def _free_device_ids() -> list[int]:
    """Device ids not yet used on the simulated bus. The bus is shared by the demo
    organizations' gateways, hence the deliberate ``unscoped()``."""
    used = set(
        RegisterMap.objects.unscoped()
        .filter(gateway__host=DEMO_HOST, gateway__port=simulator_port())
        .values_list("device_id", flat=True)
    ) | set(
        SensorMap.objects.unscoped()
        .filter(gateway__host=DEMO_HOST, gateway__port=simulator_port())
        .values_list("device_id", flat=True)
    )
    return [i for i in range(1, 248) if i not in used]


def _kind(meter: Meter) -> str | None:
    if (meter.type, meter.unit) == ("electricity", "kWh"):
        return "electricity"
    key = BY_TYPE.get((meter.type, meter.unit))
    return key


def seed(org: Organization) -> None:
    """A gateway in the first property that has installed meters, reading a mix of its
    meters: up to 8 electricity meters (cycling through the electric profiles), 2 water
    and 2 heat meters."""
    meters = Meter.objects.filter(assignments__removed_at__isnull=True)
    prop = (
        Property.objects.filter(
            billing_points__assignments__in=MeterAssignment.objects.filter(removed_at__isnull=True)
        )
        .order_by("name")
        .first()
    )
    if prop is None:
        return
    gateway = Gateway.objects.filter(name=DEMO_NAME).first() or services.gateway_create(
        property=prop,
        name=DEMO_NAME,
        host=DEMO_HOST,
        port=simulator_port(),
        timeout_ms=1000,
        retries=1,
        request_delay_ms=5,
        poll_interval_s=60,
        poll_measurements=True,
        notes="Polls the Modbus simulator started by `make demo` (manage.py modbus_simulator).",
    )
    if not gateway.poll_measurements:  # seeded before measurements existed
        services.gateway_update(gateway=gateway, poll_measurements=True)
    services.profile_builtins_ensure()
    profiles = {p.builtin: p for p in Profile.objects.exclude(builtin="")}
    electric = cycle(ELECTRIC)
    free = iter(_free_device_ids())
    left = dict(QUOTA)
    for m in gateway.register_maps.select_related("meter"):
        kind = _kind(m.meter)
        if kind in left:
            left[kind] -= 1
    candidates = meters.filter(
        register_map__isnull=True, assignments__billing_point__property=prop
    ).order_by("serial_number")
    for meter in candidates:
        kind = _kind(meter)
        if kind is None or left.get(kind, 0) <= 0:
            continue
        key = next(electric) if kind == "electricity" else kind
        services.register_map_create(
            meter=meter, gateway=gateway, device_id=next(free), profile=profiles[key]
        )
        left[kind] -= 1
    _seed_sensor(gateway, prop, free)
    _rated_capacities(gateway)
    seed_measurement_history(gateway, now=datetime.now(UTC))


#: The highest value of :func:`daily_shape` (at about 15:40).
PEAK_SHAPE = max(daily_shape(h / 60) for h in range(24 * 60))
#: The demo's circuits peak at this share of their rated capacity, so the load page has
#: a few hours above 80 % a day to show (about four), none above 100 %.
PEAK_SHARE = 0.9


def _rated_capacities(gateway: Gateway) -> None:
    """A rated capacity (kW) for the electric meters whose power is polled (as
    :func:`seed_measurement_history` picks them) that have none: sized so the simulated
    daily peak is :data:`PEAK_SHARE` of it."""
    from meters.services import meter_update

    for m in gateway.register_maps.filter(profile__meter_type="electricity",
                                          profile__values__quantity="active_power",
                                          meter__rated_capacity__isnull=True
                                          ).select_related("meter").distinct():
        kw = device_per_hour("electricity", m.device_id) * PEAK_SHAPE / PEAK_SHARE
        meter_update(meter=m.meter, rated_capacity=Decimal(f"{kw:.1f}"))


def _seed_sensor(gateway: Gateway, prop: Property, free) -> None:
    """A temperature and humidity sensor in the plant room, on the simulated bus: its
    values move with the time of day, so the demo's environment charts move."""
    from gateways.services.sensors import sensor_map_create
    from meters import services as meter_services

    sensor = Sensor.objects.filter(serial_number="DEMO-TH-1").first()
    if sensor is None:
        sensor = meter_services.sensor_create(
            kind="temperature_humidity", serial_number="DEMO-TH-1", label="Plant room",
            property=prop, area="Plant room, basement")
    if not SensorMap.objects.filter(sensor=sensor).exists():
        sensor_map_create(sensor=sensor, gateway=gateway, device_id=next(free),
                          layout="sht20-xy-md02")


def _history_instants(now: datetime) -> list[datetime]:
    end = datetime.fromtimestamp(math.floor(now.timestamp() / 900) * 900, UTC)
    count = int(timedelta(days=HISTORY_DAYS) / HISTORY_STEP)
    return [end - n * HISTORY_STEP for n in range(count, 0, -1)]


def seed_measurement_history(gateway: Gateway, *, now: datetime) -> int:
    """The last :data:`HISTORY_DAYS` of the gateway's power (electric meters whose profile
    has a total active power register) and its sensors' temperature and humidity, every 15
    minutes, from the very curves the simulator serves (``SimMeter.measurement``, with the
    per-device load the ``--from-db`` simulator gives each map), so the demo's charts have a
    past that runs on into the live polls. Set-based (two statements per kind of device)
    and idempotent (a re-run only finds what is stored); returns the values written."""
    instants = _history_instants(now)
    rows: list[tuple[int, datetime, float]] = []
    maps = list(gateway.register_maps.filter(profile__meter_type="electricity",
                                             profile__values__quantity="active_power")
                .distinct())
    series = series_ensure("meter", [(m.meter_id, "active_power") for m in maps])
    for m in maps:
        per_hour = device_per_hour("electricity", m.device_id)
        # measurement() depends on the load and the time only, not on the register layout
        sim = SimMeter(m.device_id, SENSOR_PROFILES["sht20-xy-md02"], per_hour=per_hour)
        for at in instants:
            t = at.timestamp()
            load = per_hour * daily_shape(((t - EPOCH) / 3600) % 24)
            rows.append((series[(m.meter_id, "active_power")], at,
                         round(sim.measurement("active_power", load, t), 1)))
    sensor_maps = [m for m in gateway.sensor_maps.all() if m.layout in SENSOR_PROFILES]
    pairs = [(m.sensor_id, q) for m in sensor_maps for q in ("temperature", "humidity")]
    sensor_series = series_ensure("sensor", pairs)
    for m in sensor_maps:
        sim = SimMeter(m.device_id, SENSOR_PROFILES[m.layout])
        for at in instants:
            for q in ("temperature", "humidity"):
                rows.append((sensor_series[(m.sensor_id, q)], at,
                             round(sim.measurement(q, 0.0, at.timestamp()), 2)))
    return len(measurements_store(rows, source=Source.GATEWAY))
