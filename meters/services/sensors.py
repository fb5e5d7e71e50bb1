"""Environmental sensors: create, update, delete (their values are measurements)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import Sensor
from meters.services.common import Actor, changed_fields, clean_and_save, reject_unknown

SENSOR_FIELDS = ("kind", "serial_number", "label", "property", "billing_point", "area", "notes")
SENSOR_EDITABLE = ("kind", "label", "property", "billing_point", "area", "notes")


def _save_sensor(sensor: Sensor) -> Sensor:
    point = sensor.billing_point
    if point is not None and point.property_id != sensor.property_id:
        raise ValidationError(
            {"billing_point": [f"{point} is at another property than the sensor."]}
        )
    return clean_and_save(sensor, strip=("serial_number", "label", "area"),
                          unique_field="serial_number",
                          unique_message="A sensor with serial number '{}' exists already.")


@transaction.atomic
def sensor_create(*, actor: Actor = None, **fields: Any) -> Sensor:
    """A sensor at a property (and optionally a billing point or a named area of it)."""
    reject_unknown(fields, SENSOR_FIELDS)
    sensor = _save_sensor(Sensor(organization=require_organization(), **fields))
    audit_record(action="meters.sensor.create", actor=actor, target=sensor.serial_number)
    return sensor


@transaction.atomic
def sensor_update(*, sensor: Sensor, actor: Actor = None, **fields: Any) -> Sensor:
    """Rename or move a sensor; its serial number (the key its values arrive under) stays."""
    if "serial_number" in fields and fields["serial_number"] != sensor.serial_number:
        raise ValidationError({"serial_number": ["The serial number of a sensor never changes."]})
    fields.pop("serial_number", None)
    reject_unknown(fields, SENSOR_EDITABLE)
    changed = changed_fields(sensor, fields)
    for key, value in changed.items():
        setattr(sensor, key, value)
    _save_sensor(sensor)
    if changed:
        audit_record(action="meters.sensor.update", actor=actor, target=sensor.serial_number,
                     detail={k: str(v) for k, v in changed.items()})
    return sensor


@transaction.atomic
def sensor_delete(*, sensor: Sensor, actor: Actor = None) -> None:
    """Delete a sensor that has no measurements yet (their history is kept)."""
    serial = sensor.serial_number
    try:
        with transaction.atomic():
            sensor.delete()
    except ProtectedError as exc:
        raise Conflict("This sensor has measurements; its history is kept.") from exc
    audit_record(action="meters.sensor.delete", actor=actor, target=serial)
