"""A sensor of every organization (used by the isolation test): ``populate(world)`` runs
after ``tests/meters/factories.py`` and puts it at that populator's property."""

from __future__ import annotations

from meters import services
from meters.models import SensorKind


def populate(world) -> None:
    sensor = services.sensor_create(
        kind=SensorKind.TEMPERATURE_HUMIDITY,
        serial_number=f"TH-{world.marker.lower()}-1",
        label=f"Hall sensor {world.marker}",
        property=world.objects["property"],
        billing_point=world.objects["billing_point"],
        area=f"Hall {world.marker}",
    )
    world.objects.update(sensor=sensor)
