"""State changes of properties, billing points, meters and meter assignments.

Assignment rules are checked twice: first in Python, so the caller gets a message that
names the billing point or date at fault, and then by the database (partial unique index
and exclusion constraint), which catches what a concurrent transaction slipped in between
the check and the insert. The database's refusal is mapped to the same :class:`Conflict`,
so two simultaneous assignments of one meter end with one winner and one 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q
from django.utils.dateparse import parse_date, parse_datetime

from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.imports import MeterRow, RowError, parse_meter_csv
from meters.models import UNITS_BY_TYPE, BillingPoint, Meter, MeterAssignment, MeterType, Property

Actor = AbstractBaseUser | None
Instant = date | datetime | str

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
)
METER_EDITABLE = ("label", "unit", "multiplier", "register_digits", "parent", "notes")
ASSIGNMENT_CONSTRAINTS = ("assignment_one_open_per_meter", "assignment_no_overlap_per_meter")


# --- parsing shared by services, API and portal ----------------------------------------


def to_instant(value: Instant | None, tz: Any, *, field: str) -> datetime:
    """An aware instant. A plain date means midnight in ``tz`` (the property's time zone),
    because people say "connected on 1 March" and mean the local day, not UTC."""
    if isinstance(value, str):
        value = _parse_text_instant(value.strip(), field)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError({field: ["Give a time zone with the time (or a plain date)."]})
        return value
    if isinstance(value, date):
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return datetime.combine(value, time(0), tzinfo=zone)
    raise ValidationError({field: ["A date (YYYY-MM-DD) or an ISO date and time is required."]})


def _parse_text_instant(text: str, field: str) -> date | datetime:
    try:
        parsed = parse_date(text) or parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(
            {field: [f"'{text}' is not a date (YYYY-MM-DD) or an ISO date and time."]}
        )
    return parsed


def to_register(value: Any, *, field: str, meter: Meter | None = None) -> Decimal:
    """A register value: a finite, non-negative decimal that fits the meter's register."""
    try:
        number = Decimal(str(value).strip().replace(",", ".")) if value not in (None, "") else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValidationError({field: [f"'{value}' is not a register value."]})
    if number < 0:
        raise ValidationError({field: ["A register value cannot be negative."]})
    if meter is not None and number >= Decimal(10) ** meter.register_digits:
        raise ValidationError(
            {
                field: [
                    f"{number} does not fit the {meter.register_digits}-digit register of "
                    f"meter {meter.serial_number}."
                ]
            }
        )
    return number


def _fmt(moment: datetime, tz: Any = None) -> str:
    local = moment.astimezone(ZoneInfo(str(tz))) if tz else moment
    if local.time() == time(0):
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _reject_unknown(fields: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValidationError({k: ["This field cannot be set here."] for k in unknown})


def _clean_and_save(obj: Any, *, unique_field: str, unique_message: str) -> None:
    """full_clean for field rules, then save; a unique clash names the field."""
    obj.full_clean(exclude=["organization"], validate_unique=False, validate_constraints=False)
    model = type(obj)
    clash = model.objects.filter(**{unique_field: getattr(obj, unique_field)}).exclude(pk=obj.pk)
    if clash.exists():
        raise ValidationError({unique_field: [unique_message]})
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent insert of the same natural key
        raise ValidationError({unique_field: [unique_message]}) from exc


def _changed(obj: Any, fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if getattr(obj, k) != v}


# --- properties ------------------------------------------------------------------------


def _save_property(prop: Property) -> Property:
    prop.name = (prop.name or "").strip()
    _clean_and_save(
        prop, unique_field="name", unique_message=f"A property named '{prop.name}' exists already."
    )
    return prop


@transaction.atomic
def property_create(*, actor: Actor = None, **fields: Any) -> Property:
    _reject_unknown(fields, PROPERTY_FIELDS)
    org = require_organization()
    fields.setdefault("time_zone", str(org.time_zone))
    fields.setdefault("currency", str(org.default_currency))
    prop = _save_property(Property(organization=org, **fields))
    audit_record(action="meters.property.create", actor=actor, target=prop.name)
    return prop


@transaction.atomic
def property_update(*, property: Property, actor: Actor = None, **fields: Any) -> Property:
    _reject_unknown(fields, PROPERTY_FIELDS)
    changed = _changed(property, fields)
    for key, value in changed.items():
        setattr(property, key, value)
    _save_property(property)
    if changed:
        detail = {k: str(v) for k, v in changed.items()}
        audit_record(
            action="meters.property.update", actor=actor, target=property.name, detail=detail
        )
    return property


@transaction.atomic
def property_delete(*, property: Property, actor: Actor = None) -> None:
    """Only an empty property: billing points carry billing history."""
    name = property.name
    try:
        with transaction.atomic():
            property.delete()
    except ProtectedError as exc:
        raise Conflict(f"{name} still has billing points; delete or move them first.") from exc
    audit_record(action="meters.property.delete", actor=actor, target=name)


# --- billing points --------------------------------------------------------------------


def _save_billing_point(bp: BillingPoint) -> BillingPoint:
    bp.name = (bp.name or "").strip()
    bp.connection_id = (bp.connection_id or "").strip()
    _clean_and_save(
        bp,
        unique_field="connection_id",
        unique_message=f"Connection ID '{bp.connection_id}' is used by another billing point.",
    )
    return bp


@transaction.atomic
def billing_point_create(*, actor: Actor = None, **fields: Any) -> BillingPoint:
    _reject_unknown(fields, BILLING_POINT_FIELDS)
    bp = _save_billing_point(BillingPoint(organization=require_organization(), **fields))
    audit_record(action="meters.billing_point.create", actor=actor, target=str(bp))
    return bp


@transaction.atomic
def billing_point_update(
    *, billing_point: BillingPoint, actor: Actor = None, **fields: Any
) -> BillingPoint:
    _reject_unknown(fields, BILLING_POINT_FIELDS)
    changed = _changed(billing_point, fields)
    for key, value in changed.items():
        setattr(billing_point, key, value)
    _save_billing_point(billing_point)
    if changed:
        detail = {k: str(v) for k, v in changed.items()}
        audit_record(
            action="meters.billing_point.update",
            actor=actor,
            target=str(billing_point),
            detail=detail,
        )
    return billing_point


@transaction.atomic
def billing_point_delete(*, billing_point: BillingPoint, actor: Actor = None) -> None:
    """Only a billing point that never had a meter or an occupant (its history is billed)."""
    target = str(billing_point)
    try:
        with transaction.atomic():
            billing_point.delete()
    except ProtectedError as exc:
        raise Conflict(f"{target} has meter or occupancy history and cannot be deleted.") from exc
    audit_record(action="meters.billing_point.delete", actor=actor, target=target)


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
    meter.serial_number = (meter.serial_number or "").strip()
    meter.label = (meter.label or "").strip()
    meter.unit = check_unit(meter.type, meter.unit)
    _check_parent(meter)
    _clean_and_save(
        meter,
        unique_field="serial_number",
        unique_message=f"A meter with serial number '{meter.serial_number}' exists already.",
    )
    return meter


@transaction.atomic
def meter_create(*, actor: Actor = None, **fields: Any) -> Meter:
    """A meter as the installer describes it; the unit defaults to the type's usual one."""
    _reject_unknown(fields, METER_FIELDS)
    meter = _save_meter(Meter(organization=require_organization(), **fields))
    audit_record(action="meters.meter.create", actor=actor, target=meter.serial_number)
    return meter


@transaction.atomic
def meter_update(*, meter: Meter, actor: Actor = None, **fields: Any) -> Meter:
    """Rename and adjust a meter. The serial number is printed on the device and is the
    key readings arrive under, so it never changes; nor does the type of a used meter."""
    fields = _drop_unchanged_keys(meter, fields)
    if "serial_number" in fields:
        raise ValidationError({"serial_number": ["The serial number of a meter never changes."]})
    if "type" in fields and meter.assignments.exists():
        raise ValidationError({"type": ["This meter has been connected; its type cannot change."]})
    _reject_unknown(fields, (*METER_EDITABLE, "type"))
    changed = _changed(meter, fields)
    for key, value in changed.items():
        setattr(meter, key, value)
    _save_meter(meter)
    if changed:
        detail = {k: str(v) for k, v in changed.items()}
        audit_record(
            action="meters.meter.update", actor=actor, target=meter.serial_number, detail=detail
        )
    return meter


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
    try:
        with transaction.atomic():
            meter.delete()
    except ProtectedError as exc:
        raise Conflict(f"Meter {serial} has assignments or readings; its history is kept.") from exc
    audit_record(action="meters.meter.delete", actor=actor, target=serial)


# --- assignments -----------------------------------------------------------------------


def _tz(billing_point: BillingPoint) -> Any:
    return Property.objects.only("time_zone").get(pk=billing_point.property_id).time_zone


def _open_assignment(meter: Meter) -> MeterAssignment | None:
    return (
        MeterAssignment.objects.filter(meter=meter, removed_at__isnull=True)
        .select_related("billing_point")
        .first()
    )


def _already_active(meter: Meter, current: MeterAssignment) -> Conflict:
    bp = current.billing_point
    tz = _tz(bp)
    return Conflict(
        f"Meter {meter.serial_number} is already active at {bp.name} ({bp.connection_id}) "
        f"since {_fmt(current.connected_at, tz)}. Remove it there first.",
        fields={"meter": [f"active at {bp.name} ({bp.connection_id})"]},
        code="meter_active",
    )


def _check_assignable(meter: Meter, connected_at: datetime, tz: Any) -> None:
    current = _open_assignment(meter)
    if current is not None:
        raise _already_active(meter, current)
    last = (
        MeterAssignment.objects.filter(meter=meter, removed_at__gt=connected_at)
        .select_related("billing_point")
        .order_by("-removed_at")
        .first()
    )
    if last is not None:
        raise ValidationError(
            {
                "connected_at": [
                    f"Meter {meter.serial_number} was at {last.billing_point.name} until "
                    f"{_fmt(last.removed_at, tz)}; connect it on or after that date."
                ]
            }
        )


def _insert_assignment(assignment: MeterAssignment) -> MeterAssignment:
    """Insert under a savepoint; the constraints' refusal becomes the Python check's error."""
    try:
        with transaction.atomic():
            assignment.save()
    except IntegrityError as exc:
        if not any(name in str(exc) for name in ASSIGNMENT_CONSTRAINTS):
            raise
        current = _open_assignment(assignment.meter)
        if current is not None:
            raise _already_active(assignment.meter, current) from exc
        raise Conflict(
            f"Meter {assignment.meter.serial_number} was connected elsewhere over an "
            "overlapping period.",
            fields={"connected_at": ["overlaps another assignment of this meter"]},
            code="assignment_overlap",
        ) from exc
    return assignment


@transaction.atomic
def meter_assign(
    *,
    billing_point: BillingPoint,
    meter: Meter,
    connected_at: Instant,
    initial_reading: Any = Decimal("0"),
    actor: Actor = None,
) -> MeterAssignment:
    """Connect an inactive meter to a billing point from ``connected_at`` on."""
    tz = _tz(billing_point)
    at = to_instant(connected_at, tz, field="connected_at")
    initial = to_register(initial_reading, field="initial_reading", meter=meter)
    _check_assignable(meter, at, tz)
    assignment = _insert_assignment(
        MeterAssignment(
            organization=require_organization(),
            meter=meter,
            billing_point=billing_point,
            connected_at=at,
            initial_reading=initial,
        )
    )
    audit_record(
        action="meters.meter.assign",
        actor=actor,
        target=f"{meter.serial_number} → {billing_point.connection_id}",
        detail={"connected_at": at.isoformat(), "initial_reading": str(initial)},
    )
    return assignment


def _lock_open(assignment: MeterAssignment) -> MeterAssignment:
    locked = (
        MeterAssignment.objects.select_for_update()
        .select_related("meter", "billing_point")
        .get(pk=assignment.pk)
    )
    if locked.removed_at is not None:
        raise Conflict(
            f"Meter {locked.meter.serial_number} was already removed from "
            f"{locked.billing_point.name} on {_fmt(locked.removed_at)}.",
            code="assignment_closed",
        )
    return locked


@transaction.atomic
def meter_remove(
    *,
    assignment: MeterAssignment,
    removed_at: Instant,
    final_reading: Any,
    actor: Actor = None,
) -> MeterAssignment:
    """Disconnect a meter: its final register value closes the assignment."""
    locked = _lock_open(assignment)
    tz = _tz(locked.billing_point)
    at = to_instant(removed_at, tz, field="removed_at")
    final = to_register(final_reading, field="final_reading", meter=locked.meter)
    if at <= locked.connected_at:
        raise ValidationError(
            {
                "removed_at": [
                    "The removal must come after the connection on "
                    f"{_fmt(locked.connected_at, tz)}."
                ]
            }
        )
    locked.removed_at, locked.final_reading = at, final
    locked.save(update_fields=["removed_at", "final_reading"])
    audit_record(
        action="meters.meter.remove",
        actor=actor,
        target=f"{locked.meter.serial_number} ← {locked.billing_point.connection_id}",
        detail={"removed_at": at.isoformat(), "final_reading": str(final)},
    )
    assignment.refresh_from_db()
    return locked


@transaction.atomic
def meter_replace(
    *,
    assignment: MeterAssignment,
    new_meter: Meter,
    replaced_at: Instant,
    final_reading: Any,
    initial_reading: Any = Decimal("0"),
    actor: Actor = None,
) -> MeterAssignment:
    """Swap a meter at a billing point: the old one's final and the new one's initial
    reading at the same instant, so consumption continues across the swap. All or nothing."""
    if new_meter.pk == assignment.meter_id:
        raise ValidationError({"new_meter": ["Choose a different meter to replace this one."]})
    if new_meter.type != assignment.meter.type:
        raise ValidationError(
            {
                "new_meter": [
                    f"Meter {new_meter.serial_number} measures "
                    f"{new_meter.get_type_display().lower()}, "
                    f"not {assignment.meter.get_type_display().lower()}."
                ]
            }
        )
    old = meter_remove(
        assignment=assignment, removed_at=replaced_at, final_reading=final_reading, actor=actor
    )
    return meter_assign(
        billing_point=old.billing_point,
        meter=new_meter,
        connected_at=old.removed_at,
        initial_reading=initial_reading,
        actor=actor,
    )


# --- the new connection flow -----------------------------------------------------------


@dataclass
class NewMeter:
    """One meter of a new connection: an existing inactive meter (by serial) or a new one."""

    type: str
    serial_number: str
    initial_reading: Any = Decimal("0")
    unit: str = ""
    label: str = ""


def _meter_for_connection(item: NewMeter, index: int, actor: Actor) -> Meter:
    serial = (item.serial_number or "").strip()
    existing = Meter.objects.filter(serial_number=serial).first() if serial else None
    if existing is None:
        return _prefixed(
            index,
            meter_create,
            actor=actor,
            type=item.type,
            serial_number=serial,
            unit=item.unit,
            label=item.label,
        )
    if existing.type != item.type:
        raise ValidationError(
            {
                f"meters[{index}].type": [
                    f"Meter {serial} exists and measures {existing.get_type_display().lower()}."
                ]
            }
        )
    return existing


def _prefixed(index: int, func: Any, **kwargs: Any) -> Any:
    """Run a service; its field errors are renamed ``meters[i].field`` for the form/API."""
    try:
        return func(**kwargs)
    except ValidationError as exc:
        raise ValidationError(
            {f"meters[{index}].{k}": v for k, v in exc.message_dict.items()}
        ) from exc
    except Conflict as exc:
        exc.fields = {f"meters[{index}].{k}": v for k, v in exc.fields.items()}
        raise


@transaction.atomic
def billing_point_create_with_meters(
    *,
    meters: list[NewMeter],
    connected_at: Instant,
    actor: Actor = None,
    **fields: Any,
) -> BillingPoint:
    """A billing point and its meters connected in one step; any error writes nothing."""
    bp = billing_point_create(actor=actor, **fields)
    for index, item in enumerate(meters):
        meter = _meter_for_connection(item, index, actor)
        _prefixed(
            index,
            meter_assign,
            billing_point=bp,
            meter=meter,
            connected_at=connected_at,
            initial_reading=item.initial_reading,
            actor=actor,
        )
    return bp


# --- CSV import of an installer's meter list -------------------------------------------


class MeterImportRejected(ValidationError):
    """The whole file was refused; ``errors`` lists every bad row (line, column, reason)."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__({"file": [str(e) for e in errors]})


def _cross_row_errors(rows: list[MeterRow]) -> list[RowError]:
    """Duplicates in the file or in the organization, and unknown or mismatched parents."""
    errors: list[RowError] = []
    serials = [r.values["serial_number"] for r in rows if r.values["serial_number"]]
    existing = {
        m.serial_number: m.type
        for m in Meter.objects.filter(
            serial_number__in={*serials, *(r.parent_serial for r in rows)}
        )
    }
    first_line: dict[str, int] = {}
    for row in rows:
        serial = row.values["serial_number"]
        if serial in existing:
            errors.append(RowError(row.line, "serial_number", f"meter {serial} exists already"))
        elif serial and serial in first_line:
            errors.append(
                RowError(
                    row.line, "serial_number", f"{serial} is also on line {first_line[serial]}"
                )
            )
        first_line.setdefault(serial, row.line)
    types = {**existing, **{r.values["serial_number"]: r.values["type"] for r in rows}}
    for row in rows:
        errors += _parent_errors(row, types)
    return errors


def _parent_errors(row: MeterRow, types: dict[str, str | None]) -> list[RowError]:
    parent = row.parent_serial
    if not parent:
        return []
    if parent == row.values["serial_number"]:
        return [RowError(row.line, "parent", "a meter cannot be its own parent")]
    if parent not in types:
        return [RowError(row.line, "parent", f"no meter {parent} in the file or the organization")]
    if row.values["type"] and types[parent] and types[parent] != row.values["type"]:
        return [RowError(row.line, "parent", f"main meter {parent} measures another type")]
    return []


@transaction.atomic
def meter_import_csv(*, content: bytes | str, actor: Actor = None) -> list[Meter]:
    """Create every meter of the file, or none: a bad row rejects the whole file, and the
    report names each bad row so the installer can fix the list in one go."""
    rows, errors = parse_meter_csv(content)
    if rows:  # header fine: duplicates and parents are reported alongside row errors
        errors += _cross_row_errors(rows)
    if errors:
        raise MeterImportRejected(sorted(errors, key=lambda e: (e.line, e.column)))
    org = require_organization()
    try:
        with transaction.atomic():
            created = Meter.objects.bulk_create([Meter(organization=org, **r.values) for r in rows])
    except IntegrityError as exc:  # a concurrent import of the same serials
        raise MeterImportRejected(
            [
                RowError(
                    0, "serial_number", "a meter of this file was created meanwhile; import again"
                )
            ]
        ) from exc
    _link_parents(rows, created)
    audit_record(
        action="meters.meter.import",
        actor=actor,
        target=f"{len(created)} meters",
        detail={"serials": [m.serial_number for m in created][:50]},
    )
    return created


def _link_parents(rows: list[MeterRow], created: list[Meter]) -> None:
    wanted = {r.parent_serial for r in rows if r.parent_serial}
    if not wanted:
        return
    by_serial = {m.serial_number: m for m in Meter.objects.filter(serial_number__in=wanted)}
    linked = []
    for row, meter in zip(rows, created, strict=True):
        if row.parent_serial:
            meter.parent = by_serial[row.parent_serial]
            linked.append(meter)
    Meter.objects.bulk_update(linked, ["parent"])


@transaction.atomic
def meter_assignment_record(
    *,
    billing_point: BillingPoint,
    meter: Meter,
    connected_at: Instant,
    removed_at: Instant,
    initial_reading: Any = Decimal("0"),
    final_reading: Any,
    actor: Actor = None,
) -> MeterAssignment:
    """Record a past, already closed assignment (history an integrator migrates in).

    It may lie before the meter's current assignment, so the rule is "no overlap with any
    other period of this meter", not "the meter is inactive"."""
    tz = _tz(billing_point)
    start = to_instant(connected_at, tz, field="connected_at")
    end = to_instant(removed_at, tz, field="removed_at")
    if end <= start:
        raise ValidationError({"removed_at": ["The removal must come after the connection."]})
    initial = to_register(initial_reading, field="initial_reading", meter=meter)
    final = to_register(final_reading, field="final_reading", meter=meter)
    _check_no_overlap(meter, start, end, tz)
    assignment = _insert_assignment(
        MeterAssignment(
            organization=require_organization(),
            meter=meter,
            billing_point=billing_point,
            connected_at=start,
            removed_at=end,
            initial_reading=initial,
            final_reading=final,
        )
    )
    audit_record(
        action="meters.assignment.record",
        actor=actor,
        target=f"{meter.serial_number} at {billing_point.connection_id}",
        detail={"connected_at": start.isoformat(), "removed_at": end.isoformat()},
    )
    return assignment


def _check_no_overlap(meter: Meter, start: datetime, end: datetime, tz: Any) -> None:
    clash = (
        MeterAssignment.objects.filter(meter=meter, connected_at__lt=end)
        .filter(Q(removed_at__isnull=True) | Q(removed_at__gt=start))
        .select_related("billing_point")
        .first()
    )
    if clash is not None:
        until = "now" if clash.removed_at is None else _fmt(clash.removed_at, tz)
        raise Conflict(
            f"Meter {meter.serial_number} was at {clash.billing_point.name} "
            f"({clash.billing_point.connection_id}) from {_fmt(clash.connected_at, tz)} until "
            f"{until}, which overlaps {_fmt(start, tz)} – {_fmt(end, tz)}.",
            fields={"connected_at": ["overlaps another assignment of this meter"]},
            code="assignment_overlap",
        )
