"""Rows of every meters model for one organization (used by the isolation test too).

``populate(world)`` must be called inside ``organization_context(world.org)``; every row
carries ``world.marker`` in a visible text field so a leak is detectable.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from meters import services
from meters.models import MeterType

BERLIN = ZoneInfo("Europe/Berlin")


def populate(world) -> None:
    marker = world.marker
    slug = marker.lower()
    prop = services.property_create(
        name=f"Lindenhof {marker}",
        address=f"Lindenstrasse 1 {marker}",
        time_zone="Europe/Berlin",
        currency="EUR",
    )
    bp = services.billing_point_create(
        property=prop,
        connection_id=f"CN-{slug}-001",
        name=f"Apartment 1A {marker}",
        kind="apartment",
        floor="1",
        area_m2=Decimal("72.50"),
    )
    main = services.meter_create(
        type=MeterType.ELECTRICITY,
        serial_number=f"EM-{slug}-MAIN",
        label=f"Main {marker}",
        multiplier=Decimal("40"),
    )
    meter = services.meter_create(
        type=MeterType.ELECTRICITY,
        serial_number=f"EM-{slug}-001",
        label=f"Flat 1A {marker}",
        parent=main,
    )
    spare = services.meter_create(
        type=MeterType.COLD_WATER, serial_number=f"WM-{slug}-SPARE", label=f"Spare {marker}"
    )
    assignment = services.meter_assign(
        billing_point=bp,
        meter=meter,
        connected_at=datetime(2025, 1, 1, tzinfo=BERLIN),
        initial_reading=Decimal("100"),
    )
    world.objects.update(
        property=prop,
        billing_point=bp,
        meter=meter,
        main_meter=main,
        spare_meter=spare,
        assignment=assignment,
    )


def make_registry(name: str = "Test House"):
    """A property with one billing point and inactive meters of a few types (in context)."""
    prop = services.property_create(name=name, time_zone="Europe/Berlin", currency="EUR")
    bp = services.billing_point_create(
        property=prop, connection_id=f"{name[:4].upper()}-1", name="Flat 1"
    )
    meters = {
        t: services.meter_create(type=t, serial_number=f"{name[:4].upper()}-{t[:4].upper()}-1")
        for t in (MeterType.ELECTRICITY, MeterType.COLD_WATER, MeterType.HOT_WATER, MeterType.GAS)
    }
    return prop, bp, meters
