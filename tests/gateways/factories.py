"""``populate(world)``: a row of every gateways model for ``world.org``, marker included.

Runs after the meters and readings populators. It maps ``world.objects["meter"]`` when
that is an electricity meter in kWh not mapped yet, and otherwise creates its own meter.
The gateway points at 127.0.0.1:1, where nothing listens, so an accidental poll fails
at once instead of waiting for a timeout.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from gateways import services
from gateways.models import GatewayError, PollRun, Profile
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property

START = datetime(2025, 1, 1, tzinfo=UTC)


def make_meter(serial: str, *, prop: Property | None = None, type: str = MeterType.ELECTRICITY,
               unit: str = "kWh", connected_at: datetime = START) -> Meter:
    prop = prop or Property.objects.get_or_create(name=f"Gateway house {serial}")[0]
    point = BillingPoint.objects.create(
        property=prop, connection_id=f"GW-{serial}", name=f"Unit {serial}"
    )
    meter = Meter.objects.create(serial_number=serial, type=type, unit=unit)
    MeterAssignment.objects.create(meter=meter, billing_point=point, connected_at=connected_at)
    return meter


def _meter(world) -> Meter:
    meter = world.objects.get("meter")
    usable = (
        meter is not None
        and meter.type == MeterType.ELECTRICITY
        and meter.unit == "kWh"
        and not hasattr(meter, "register_map")
    )
    return meter if usable else make_meter(f"GWM-{world.marker}")


def populate(world) -> None:
    meter = _meter(world)
    prop = Property.objects.get_or_create(name=f"Gateway site {world.marker}")[0]
    gateway = services.gateway_create(
        property=prop, name=f"Gateway {world.marker}", host="127.0.0.1", port=1,
        timeout_ms=200, retries=0, actor=world.admin,
    )
    profile = services.profile_create(
        name=f"Custom meter {world.marker}",
        manufacturer="Acme",
        meter_type=MeterType.ELECTRICITY,
        values=[{
            "key": "energy_import", "label": f"Energy {world.marker}", "function_code": 3,
            "address": 0, "data_type": "u32", "word_order": "big", "scale": Decimal("0.01"),
            "unit": "kWh", "is_reading": True,
        }],
        relay_kind="coil", relay_address=0, actor=world.admin,
    )
    register_map = services.register_map_create(
        meter=meter, gateway=gateway, device_id=1, profile=profile, actor=world.admin
    )
    now = timezone.now()
    run = PollRun.objects.create(
        gateway=gateway, slot=now - timedelta(minutes=15), started_at=now, finished_at=now,
        status=PollRun.Status.FAILED, summary=f"Poll of {world.marker}",
    )
    error = GatewayError.objects.create(
        gateway=gateway, register_map=register_map, poll_run=run,
        kind=GatewayError.Kind.TIMEOUT, message=f"No answer from {world.marker}", occurred_at=now,
    )
    world.objects.update(
        gateway=gateway,
        profile=profile,
        builtin_profile=Profile.objects.get(builtin="eastron-sdm120"),
        profile_value=profile.values.get(),
        register_map=register_map,
        poll_run=run,
        gateway_error=error,
        gateway_meter=meter,
    )
