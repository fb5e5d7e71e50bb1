"""What a poll asks of each gateway: its register maps as plain rows, and the Modbus
target built from them. Shared by polling (which plans and claims), recording (which
stores what came back) and relays (which talk to one device of a gateway).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.conf import settings

from gateways import decoding, poller
from gateways.models import Gateway, PollRun, ProfileValue, RegisterMap, SensorMap
from gateways.profiles import SENSOR_PROFILES, ValueDef


class MapRow(NamedTuple):
    """What a poll needs of one register map: thousands per cycle, so a plain tuple."""

    pk: int
    gateway_id: int
    device_id: int
    serial_number: str
    value: ProfileValue | None  # the profile's reading value
    meter_id: int
    answered_last: bool | None = None  # did the device answer the previous poll?
    last_answer: float = 0.0  # when it last did (epoch seconds; 0: never)
    consecutive_failures: int = 0
    last_poll_at: datetime | None = None
    #: The old reading register while a register switch is pending (see
    #: ``gateways.services.register_switch``); the poll reads it too.
    switch: dict | None = None
    #: The profile's values stored as measurements, when the gateway polls them.
    measures: tuple[ProfileValue, ...] = ()


#: Item ref of the old register of a map whose register switch is pending.
OLD_REGISTER = "old-register"
#: Item ref of a measurement value: (MEASURE, map id, profile value id).
MEASURE = "measure"
#: Item ref of a sensor's value: (SENSOR, sensor map id, value key).
SENSOR = "sensor"


class SensorRow(NamedTuple):
    """What a poll needs of one sensor map (gateways that poll measurements only)."""

    pk: int
    gateway_id: int
    device_id: int
    sensor_id: int
    values: tuple[ValueDef, ...]

    def value(self, key: str) -> ValueDef:
        return next(v for v in self.values if v.key == key)


@dataclass
class PollPlan:
    gateway: Gateway
    maps: dict[int, MapRow]
    target: poller.Target
    run: PollRun | None = None  # created while the wire is busy (``recording.Cycle``)
    resting: int = 0  # meters left out of this poll (see ``_resting``)
    sensors: dict[int, SensorRow] = field(default_factory=dict)


def target_of(gateway: Gateway, maps: Iterable[MapRow],
              sensors: Iterable[SensorRow] = ()) -> poller.Target:
    items = tuple(
        poller.Item(
            ref=m.pk,
            device_id=m.device_id,
            function_code=m.value.function_code,
            address=m.value.address,
            count=m.value.register_count,
            answered_last=m.answered_last,
            last_answer=m.last_answer,
        )
        for m in maps
        if m.value is not None
    ) + tuple(
        poller.Item(
            ref=(OLD_REGISTER, m.pk),
            device_id=m.device_id,
            function_code=int(m.switch["function_code"]),
            address=int(m.switch["address"]),
            count=decoding.register_count(m.switch["data_type"]),
            answered_last=m.answered_last,
            last_answer=m.last_answer,
        )
        for m in maps
        if m.switch and m.value is not None
    ) + tuple(
        poller.Item(
            ref=(MEASURE, m.pk, v.pk),
            device_id=m.device_id,
            function_code=v.function_code,
            address=v.address,
            count=v.register_count,
            answered_last=m.answered_last,
            last_answer=m.last_answer,
            secondary=True,
        )
        for m in maps
        if m.value is not None
        for v in m.measures
    ) + tuple(
        poller.Item(
            ref=(SENSOR, m.pk, v.key),
            device_id=m.device_id,
            function_code=v.function_code,
            address=v.address,
            count=decoding.register_count(v.data_type),
            secondary=True,
        )
        for m in sensors
        for v in m.values
    )
    return poller.Target(
        ref=gateway.pk,
        host=gateway.host,
        port=gateway.port,
        rtu_over_tcp=gateway.transport == "rtu_over_tcp",
        timeout=gateway.timeout_ms / 1000,
        retries=gateway.retries,
        delay=gateway.request_delay_ms / 1000,
        items=items,
        budget=settings.GATEWAY_POLL_BUDGET_S,
    )


def maps_of(gateway_ids: list[int]) -> list[MapRow]:
    """The enabled maps of these gateways, in two queries (maps as tuples, then the
    reading value of each profile once): no model instances, no ordering join."""
    rows = list(
        RegisterMap.objects.filter(gateway_id__in=gateway_ids, enabled=True)
        .order_by("gateway_id", "device_id")
        .values_list(
            "id", "gateway_id", "device_id", "profile_id", "meter__serial_number", "meter_id",
            "consecutive_failures", "last_success_at", "last_poll_at", "register_switch",
            "gateway__poll_measurements",
        )
    )
    values = {
        v.profile_id: v
        for v in ProfileValue.objects.filter(
            profile_id__in={r[3] for r in rows}, is_reading=True
        ).order_by()
    }
    measures = _measures({r[3] for r in rows if r[10]})
    return [
        MapRow(
            pk, gateway_id, device_id, serial, values.get(profile_id), meter_id,
            _answered_last(failures, last_success_at),
            last_success_at.timestamp() if last_success_at else 0.0, failures, last_poll_at,
            switch, measures.get(profile_id, ()) if poll_measurements else (),
        )
        for (pk, gateway_id, device_id, profile_id, serial, meter_id, failures, last_success_at,
             last_poll_at, switch, poll_measurements) in rows
    ]


def _measures(profile_ids: set[int]) -> dict[int, tuple[ProfileValue, ...]]:
    """The values stored as measurements, by profile (one query; none when no gateway of
    the poll reads measurements)."""
    if not profile_ids:
        return {}
    found: dict[int, list[ProfileValue]] = {}
    for v in ProfileValue.objects.filter(profile_id__in=profile_ids, is_reading=False
                                         ).exclude(quantity="").order_by("address"):
        found.setdefault(v.profile_id, []).append(v)
    return {pk: tuple(vs) for pk, vs in found.items()}


def sensor_maps_of(gateway_ids: list[int]) -> list[SensorRow]:
    """The enabled sensor maps of those of these gateways that poll measurements."""
    rows = SensorMap.objects.filter(
        gateway_id__in=gateway_ids, enabled=True, gateway__poll_measurements=True
    ).order_by("gateway_id", "device_id").values_list(
        "id", "gateway_id", "device_id", "sensor_id", "layout")
    return [SensorRow(pk, g, d, s, SENSOR_PROFILES[layout].values)
            for pk, g, d, s, layout in rows if layout in SENSOR_PROFILES]


def _answered_last(consecutive_failures: int, last_success_at: datetime | None) -> bool | None:
    if consecutive_failures:
        return False
    return True if last_success_at is not None else None
