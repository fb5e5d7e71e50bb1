"""Environmental sensors on a gateway's bus (``SensorMap``): map, change, remove."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billspree.core.models import ApiKey
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from gateways.models import RegisterMap, SensorMap

SENSOR_MAP_FIELDS = ("sensor", "gateway", "device_id", "layout", "enabled")


def _save(sensor_map: SensorMap) -> SensorMap:
    sensor_map.full_clean(exclude=["organization"], validate_unique=False,
                          validate_constraints=False)
    taken = RegisterMap.objects.filter(gateway=sensor_map.gateway,
                                       device_id=sensor_map.device_id).first()
    if taken is not None:
        raise ValidationError({"device_id": [
            f"Device {sensor_map.device_id} on {sensor_map.gateway} is meter "
            f"{taken.meter.serial_number}."]})
    if SensorMap.objects.filter(gateway=sensor_map.gateway, device_id=sensor_map.device_id
                                ).exclude(pk=sensor_map.pk).exists():
        raise ValidationError({"device_id": [
            f"Device {sensor_map.device_id} on {sensor_map.gateway} is another sensor."]})
    if SensorMap.objects.filter(sensor=sensor_map.sensor).exclude(pk=sensor_map.pk).exists():
        raise ValidationError({"sensor": ["This sensor is read through another gateway."]})
    try:
        with transaction.atomic():
            sensor_map.save()
    except IntegrityError as exc:  # a concurrent map of the same device or sensor
        raise ValidationError({"device_id": ["This device or sensor was just mapped."]}) from exc
    return sensor_map


@transaction.atomic
def sensor_map_create(*, actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None,
                      **fields: Any) -> SensorMap:
    """Read a sensor through a gateway (its values become measurements when the gateway
    polls measurements)."""
    unknown = set(fields) - set(SENSOR_MAP_FIELDS)
    if unknown:
        raise ValidationError({k: ["This field cannot be set here."] for k in sorted(unknown)})
    sensor_map = _save(SensorMap(organization=require_organization(), **fields))
    audit_record(action="gateway.sensor_map.create", target=str(sensor_map), actor=actor,
                 api_key=api_key)
    return sensor_map


@transaction.atomic
def sensor_map_update(*, sensor_map: SensorMap, actor: AbstractBaseUser | None = None,
                      api_key: ApiKey | None = None, **fields: Any) -> SensorMap:
    unknown = set(fields) - set(SENSOR_MAP_FIELDS)
    if unknown:
        raise ValidationError({k: ["This field cannot be set here."] for k in sorted(unknown)})
    for key, value in fields.items():
        setattr(sensor_map, key, value)
    _save(sensor_map)
    audit_record(action="gateway.sensor_map.update", target=str(sensor_map), actor=actor,
                 api_key=api_key)
    return sensor_map


@transaction.atomic
def sensor_map_delete(*, sensor_map: SensorMap, actor: AbstractBaseUser | None = None,
                      api_key: ApiKey | None = None) -> None:
    name = str(sensor_map)
    sensor_map.delete()
    audit_record(action="gateway.sensor_map.delete", target=name, actor=actor, api_key=api_key)
