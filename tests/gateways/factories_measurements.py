"""A sensor map of every organization (isolation test): the populated sensor on the
populated gateway, after ``tests/gateways/factories.py``."""

from __future__ import annotations

from gateways.services.sensors import sensor_map_create


def populate(world) -> None:
    sensor_map = sensor_map_create(
        sensor=world.objects["sensor"], gateway=world.objects["gateway"], device_id=9,
        layout="sht20-xy-md02", actor=world.admin,
    )
    world.objects.update(sensor_map=sensor_map)
