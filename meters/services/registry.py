"""Properties, billing points and meters: create, update, rename, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import UNITS_BY_TYPE, BillingPoint, Meter, MeterType, Property
from meters.services.common import Actor, changed_fields, clean_and_save, reject_unknown

PROPERTY_FIELDS = ("name", "kind", "address", "time_zone", "currency")
BILLING_POINT_FIELDS = ("property", "connection_id", "name", "kind", "floor", "area_m2", "notes")
METER_FIELDS = (
    "type",
    "unit",
    "serial_number",
    "label",
    "multiplier",
    "register_digits",
    "parent",
    "notes",
    "rated_capacity",
)
METER_EDITABLE = ("label", "unit", "multiplier", "register_digits", "parent", "notes",
                  "rated_capacity")

def _create(
    model: type, fields: dict[str, Any], *, save: Callable[[Any], Any], action: str,
    actor: Actor, target: Callable[[Any], str],
) -> Any:
    """A row of the current organization, saved through ``save`` (which cleans and
    validates), and audited."""
    obj = save(model(organization=require_organization(), **fields))
    audit_record(action=action, actor=actor, target=target(obj))
    return obj


def _update(
    obj: Any, fields: dict[str, Any], *, save: Callable[[Any], Any], action: str, actor: Actor,
    target: Callable[[Any], str],
) -> Any:
    """Set the fields that change, save through ``save`` (which cleans and validates), and
    audit what changed (nothing when nothing did)."""
    changed = changed_fields(obj, fields)
    for key, value in changed.items():
        setattr(obj, key, value)
    save(obj)
    if changed:
        audit_record(action=action, actor=actor, target=target(obj),
                     detail={k: str(v) for k, v in changed.items()})
    return obj


def _delete_kept(obj: Any, *, refusal: str, action: str, actor: Actor, target: str) -> None:
    """Delete a row nothing else refers to (under a savepoint), or refuse with ``refusal``
    while its history (protected or restricted rows) exists; audit the deletion."""
    try:
        with transaction.atomic():
            obj.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise Conflict(refusal) from exc
    audit_record(action=action, actor=actor, target=target)


# --- properties ------------------------------------------------------------------------


def _save_property(prop: Property) -> Property:
    return clean_and_save(prop, strip=("name",), unique_field="name",
                          unique_message="A property named '{}' exists already.")


@transaction.atomic
def property_create(*, actor: Actor = None, **fields: Any) -> Property:
    reject_unknown(fields, PROPERTY_FIELDS)
    org = require_organization()
    fields.setdefault("time_zone", str(org.time_zone))
    fields.setdefault("currency", str(org.default_currency))
    return _create(Property, fields, save=_save_property, action="meters.property.create",
                   actor=actor, target=lambda p: p.name)


@transaction.atomic
def property_update(*, property: Property, actor: Actor = None, **fields: Any) -> Property:
    reject_unknown(fields, PROPERTY_FIELDS)
    return _update(property, fields, save=_save_property, action="meters.property.update",
                   actor=actor, target=lambda p: p.name)


@transaction.atomic
def property_delete(*, property: Property, actor: Actor = None) -> None:
    """Only an empty property: billing points carry billing history."""
    _delete_kept(property, refusal=f"{property.name} still has billing points; delete or move "
                 "them first.", action="meters.property.delete", actor=actor, target=property.name)


# --- billing points --------------------------------------------------------------------


def _save_billing_point(bp: BillingPoint) -> BillingPoint:
    return clean_and_save(bp, strip=("name", "connection_id"), unique_field="connection_id",
                          unique_message="Connection ID '{}' is used by another billing point.")


@transaction.atomic
def billing_point_create(*, actor: Actor = None, **fields: Any) -> BillingPoint:
    reject_unknown(fields, BILLING_POINT_FIELDS)
    return _create(BillingPoint, fields, save=_save_billing_point,
                   action="meters.billing_point.create", actor=actor, target=str)


@transaction.atomic
def billing_point_update(
    *, billing_point: BillingPoint, actor: Actor = None, **fields: Any
) -> BillingPoint:
    reject_unknown(fields, BILLING_POINT_FIELDS)
    return _update(billing_point, fields, save=_save_billing_point,
                   action="meters.billing_point.update", actor=actor, target=str)


@transaction.atomic
def billing_point_delete(*, billing_point: BillingPoint, actor: Actor = None) -> None:
    """Only a billing point that never had a meter or an occupant (its history is billed)."""
    target = str(billing_point)
    _delete_kept(billing_point, refusal=f"{target} has meter or occupancy history and cannot be "
                 "deleted.", action="meters.billing_point.delete", actor=actor, target=target)


# --- meters ----------------------------------------------------------------------------


def check_unit(meter_type: str, unit: str | None) -> str:
    """The unit, defaulted from the type; a unit the type cannot register is refused."""
    if meter_type not in UNITS_BY_TYPE:
        choices = ", ".join(MeterType.values)
        raise ValidationError(
            {"type": [f"Unknown meter type '{meter_type}'. Use one of {choices}."]}
        )
    allowed = UNITS_BY_TYPE[meter_type]
    if not unit:
        return allowed[0]
    match = next((u for u in allowed if u.lower() == unit.strip().lower()), None)
    if match is None:
        label = MeterType(meter_type).label.lower()
        raise ValidationError(
            {
                "unit": [
                    f"A {label} meter cannot measure in '{unit}'. Use one of {', '.join(allowed)}."
                ]
            }
        )
    return match


def _check_parent(meter: Meter) -> None:
    parent = meter.parent
    seen = {meter.pk}
    while parent is not None:
        if parent.pk in seen:
            raise ValidationError({"parent": ["A meter cannot be above itself (loop of parents)."]})
        seen.add(parent.pk)
        parent = parent.parent
    if meter.parent is not None and meter.parent.type != meter.type:
        raise ValidationError(
            {"parent": ["The main meter must measure the same type as its sub-meters."]}
        )


def _save_meter(meter: Meter) -> Meter:
    meter.unit = check_unit(meter.type, meter.unit)
    _check_parent(meter)
    return clean_and_save(meter, strip=("serial_number", "label"), unique_field="serial_number",
                          unique_message="A meter with serial number '{}' exists already.")


@transaction.atomic
def meter_create(*, actor: Actor = None, **fields: Any) -> Meter:
    """A meter as the installer describes it; the unit defaults to the type's usual one."""
    reject_unknown(fields, METER_FIELDS)
    return _create(Meter, fields, save=_save_meter, action="meters.meter.create", actor=actor,
                   target=lambda m: m.serial_number)


@transaction.atomic
def meter_update(*, meter: Meter, actor: Actor = None, **fields: Any) -> Meter:
    """Rename and adjust a meter. The serial number is printed on the device and is the
    key readings arrive under, so it never changes; nor does the type of a used meter."""
    fields = _drop_unchanged_keys(meter, fields)
    if "serial_number" in fields:
        raise ValidationError({"serial_number": ["The serial number of a meter never changes."]})
    if "type" in fields:
        _check_type_change(meter)
        fields.setdefault("unit", "")  # the old unit may not fit: default to the new type's
    reject_unknown(fields, (*METER_EDITABLE, "type"))
    if "unit" in fields and "type" not in fields:
        _check_unit_change(meter, fields["unit"])
    return _update(meter, fields, save=_save_meter, action="meters.meter.update", actor=actor,
                   target=lambda m: m.serial_number)


def _check_type_change(meter: Meter) -> None:
    if meter.assignments.exists():
        raise ValidationError({"type": ["This meter has been connected; its type cannot change."]})
    if meter.sub_meters.exists():
        raise ValidationError({"type": ["Sub-meters measure this meter's type; it cannot change."]})


def _check_unit_change(meter: Meter, unit: str) -> None:
    """A connected meter's readings were recorded in its unit (and a gateway profile reads
    it in that unit): another unit would silently rescale its whole history, e.g. ×1000
    from kWh to Wh. Writing the same unit differently is not a change."""
    new = check_unit(meter.type, unit or "")
    if new != meter.unit and meter.assignments.exists():
        raise ValidationError({"unit": [
            f"This meter has been connected and its readings are in {meter.unit}; another "
            "unit would rescale them. If the device registers in another unit, replace the "
            "meter (Replace meter) so that both histories stay right."
        ]})


def _drop_unchanged_keys(meter: Meter, fields: dict[str, Any]) -> dict[str, Any]:
    """A full form or PUT repeats the serial number and type; only a change is refused."""
    return {
        k: v
        for k, v in fields.items()
        if not (k in ("serial_number", "type") and getattr(meter, k) == v)
    }


def meter_rename(*, meter: Meter, label: str, actor: Actor = None) -> Meter:
    return meter_update(meter=meter, label=label, actor=actor)


@transaction.atomic
def meter_delete(*, meter: Meter, actor: Actor = None) -> None:
    """Only a meter that was never connected nor read: its history is billing evidence."""
    serial = meter.serial_number
    _delete_kept(meter, refusal=f"Meter {serial} has assignments or readings; its history is "
                 "kept.", action="meters.meter.delete", actor=actor, target=serial)
