"""Builders for gateway tests: a gateway pointing at the simulator, meters mapped to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from gateways import services
from gateways.models import Gateway, Profile, RegisterMap
from gateways.profiles import BUILTIN_PROFILES
from gateways.simulator import SimulatorThread, default_layout
from meters.models import Property
from readings.models import Reading
from tests.gateways.factories import make_meter

#: Polls in tests happen "now" in this reference time (the simulator has its own clock).
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
UNITS = {"electricity": "kWh", "cold_water": "m³", "heat": "kWh"}


def make_gateway(sim: SimulatorThread | None, **fields) -> Gateway:
    prop, _ = Property.objects.get_or_create(name="Simulated site")
    defaults = {
        "property": prop,
        "name": "Sim gateway",
        "host": "127.0.0.1",
        "port": sim.port if sim else 1,
        "timeout_ms": 300,
        "retries": 1,
        "request_delay_ms": 0,
        "poll_interval_s": 900,
    }
    return services.gateway_create(**{**defaults, **fields})


def map_meter(gateway: Gateway, device_id: int, profile: Profile, serial: str | None = None,
              **meter_fields) -> RegisterMap:
    serial = serial or f"SIM-{gateway.pk}-{device_id}"
    meter_fields.setdefault("type", profile.meter_type)
    meter_fields.setdefault("unit", profile.reading_value().unit)
    meter = make_meter(serial, **meter_fields)
    return services.register_map_create(
        meter=meter, gateway=gateway, device_id=device_id, profile=profile
    )


def map_default_layout(gateway: Gateway, count: int = 7) -> list[RegisterMap]:
    """Map meters to devices 1..count exactly as ``default_layout`` puts them on the bus."""
    maps = []
    for device_id, key in default_layout(count).items():
        profile = Profile.objects.get(builtin=key)
        maps.append(map_meter(gateway, device_id, profile))
    return maps


def readings_of(register_map: RegisterMap) -> list[tuple[datetime, Decimal, str]]:
    return list(
        Reading.objects.filter(meter=register_map.meter)
        .order_by("read_at")
        .values_list("read_at", "value", "source")
    )


def slot(n: int) -> datetime:
    """The n-th 15-minute slot after T0."""
    return T0 + timedelta(minutes=15 * n)


__all__ = ["BUILTIN_PROFILES", "T0", "map_default_layout", "make_gateway", "map_meter", "slot"]
