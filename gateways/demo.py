"""Demo data: a gateway pointing at the local Modbus simulator, with some meters mapped.

``seed(org)`` is idempotent. The simulator (``manage.py modbus_simulator --port 5020
--from-db``, started by the demo after seeding) then emulates exactly these meters,
starting at their last readings, so new readings arrive every minute.
"""

from __future__ import annotations

import os
from itertools import cycle

from billspree.core.models import Organization
from gateways import services
from gateways.models import Gateway, Profile, RegisterMap, SensorMap
from meters.models import Meter, MeterAssignment, Property, Sensor

DEMO_NAME = "Basement gateway (simulator)"
DEMO_HOST = "127.0.0.1"
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
