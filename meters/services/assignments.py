"""Meter assignments: assign, remove, replace, record history, the new connection flow.

Assignment rules are checked twice: first in Python, so the caller gets a message that
names the billing point or date at fault, and then by the database (partial unique index
and exclusion constraint), which catches what a concurrent transaction slipped in between
the check and the insert. The database's refusal is mapped to the same :class:`Conflict`,
so two simultaneous assignments of one meter end with one winner and one 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from billspree.core.billing_inputs import ASSIGNMENT, Impact, InputChange, billing_inputs_notify
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import BillingPoint, Meter, MeterAssignment, Property
from meters.services.common import Actor, Instant, fmt_instant, to_instant, to_register
from meters.services.registry import billing_point_create, meter_create

ASSIGNMENT_CONSTRAINTS = ("assignment_one_open_per_meter", "assignment_no_overlap_per_meter")

# --- assignments -----------------------------------------------------------------------


def _notify(billing_point: BillingPoint, start: datetime, what: str, actor: Actor) -> list[Impact]:
    """Tell billing the meters of ``billing_point`` changed from ``start`` on (same
    transaction); returns what it affects (drafts made stale, adjustments)."""
    change = InputChange(kind=ASSIGNMENT, description=what, start=start,
                         billing_point_ids=frozenset({billing_point.pk}))
    return billing_inputs_notify(changes=[change], actor=actor)


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
        f"since {fmt_instant(current.connected_at, tz)}. Remove it there first.",
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
                    f"{fmt_instant(last.removed_at, tz)}; connect it on or after that date."
                ]
            }
        )


def _replayed(
    current: MeterAssignment | None, billing_point: BillingPoint, at: datetime, initial: Decimal
) -> MeterAssignment | None:
    """The open assignment if it is exactly what is asked again (an integrator's retry after
    a timeout): answering with it makes the write idempotent instead of a false 409."""
    if current is None or current.billing_point_id != billing_point.pk:
        return None
    if current.connected_at != at or current.initial_reading != initial:
        return None
    current.replayed = True
    return current


def _insert_assignment(**fields: Any) -> MeterAssignment:
    """Insert an assignment of the current organization under a savepoint; the constraints'
    refusal becomes the Python check's error."""
    assignment = MeterAssignment(organization=require_organization(), **fields)
    try:
        with transaction.atomic():
            assignment.save()
    except IntegrityError as exc:
        if not any(name in str(exc) for name in ASSIGNMENT_CONSTRAINTS):
            raise
        current = _open_assignment(assignment.meter)
        replay = _replayed(
            current, assignment.billing_point, assignment.connected_at, assignment.initial_reading
        )
        if replay is not None and assignment.removed_at is None:
            return replay  # the same request, sent twice at once: both get the one row
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
    notify: bool = True,
) -> MeterAssignment:
    """Connect an inactive meter to a billing point from ``connected_at`` on.

    Billing is told (same transaction) when this changes a drafted or issued period:
    ``assignment.impacts`` says what it affects (``notify=False``: the caller tells it)."""
    tz = _tz(billing_point)
    at = to_instant(connected_at, tz, field="connected_at")
    initial = to_register(initial_reading, field="initial_reading", meter=meter)
    replay = _replayed(_open_assignment(meter), billing_point, at, initial)
    if replay is not None:
        return replay
    _check_assignable(meter, at, tz)
    assignment = _insert_assignment(
        meter=meter, billing_point=billing_point, connected_at=at, initial_reading=initial
    )
    if getattr(assignment, "replayed", False):
        return assignment
    audit_record(
        action="meters.meter.assign",
        actor=actor,
        target=f"{meter.serial_number} → {billing_point.connection_id}",
        detail={"connected_at": at.isoformat(), "initial_reading": str(initial)},
    )
    assignment.impacts = _notify(billing_point, at, f"meter {meter.serial_number} connected",
                                 actor) if notify else []
    return assignment


def _lock(assignment: MeterAssignment) -> MeterAssignment:
    """The assignment row, ``FOR NO KEY UPDATE`` and alone (not its meter and billing point):
    rows that merely reference it (billing's adjustments, written by a concurrent reading
    correction) must not wait behind it, or the two would close a lock cycle."""
    return (
        MeterAssignment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("meter", "billing_point")
        .get(pk=assignment.pk)
    )


def _already_closed(locked: MeterAssignment, tz: Any) -> Conflict:
    return Conflict(
        f"Meter {locked.meter.serial_number} was already removed from "
        f"{locked.billing_point.name} on {fmt_instant(locked.removed_at, tz)}.",
        code="assignment_closed",
    )


@transaction.atomic
def meter_remove(
    *,
    assignment: MeterAssignment,
    removed_at: Instant,
    final_reading: Any,
    actor: Actor = None,
    notify: bool = True,
) -> MeterAssignment:
    """Disconnect a meter: its final register value closes the assignment."""
    locked = _lock(assignment)
    tz = _tz(locked.billing_point)
    at = to_instant(removed_at, tz, field="removed_at")
    final = to_register(final_reading, field="final_reading", meter=locked.meter)
    if locked.removed_at is not None:
        if (locked.removed_at, locked.final_reading) == (at, final):
            return locked  # the same removal again: nothing to do
        raise _already_closed(locked, tz)
    if at <= locked.connected_at:
        raise ValidationError(
            {
                "removed_at": [
                    "The removal must come after the connection on "
                    f"{fmt_instant(locked.connected_at, tz)}."
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
    locked.impacts = _notify(locked.billing_point, at,
                             f"meter {locked.meter.serial_number} removed", actor) if notify else []
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
        assignment=assignment, removed_at=replaced_at, final_reading=final_reading, actor=actor,
        notify=False,
    )
    new = meter_assign(
        billing_point=old.billing_point,
        meter=new_meter,
        connected_at=old.removed_at,
        initial_reading=initial_reading,
        actor=actor,
        notify=False,
    )
    # one notification for the swap (the half-done state in between is nobody's truth)
    new.impacts = _notify(old.billing_point, old.removed_at, f"meter {old.meter.serial_number} "
                          f"replaced by {new_meter.serial_number}", actor)
    return new


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
        meter=meter, billing_point=billing_point, connected_at=start, removed_at=end,
        initial_reading=initial, final_reading=final,
    )
    audit_record(
        action="meters.assignment.record",
        actor=actor,
        target=f"{meter.serial_number} at {billing_point.connection_id}",
        detail={"connected_at": start.isoformat(), "removed_at": end.isoformat()},
    )
    assignment.impacts = _notify(billing_point, start, f"meter {meter.serial_number} history "
                                 "recorded", actor)
    return assignment


def _check_no_overlap(meter: Meter, start: datetime, end: datetime, tz: Any) -> None:
    clash = (
        MeterAssignment.objects.filter(meter=meter, connected_at__lt=end)
        .filter(Q(removed_at__isnull=True) | Q(removed_at__gt=start))
        .select_related("billing_point")
        .first()
    )
    if clash is not None:
        until = "now" if clash.removed_at is None else fmt_instant(clash.removed_at, tz)
        raise Conflict(
            f"Meter {meter.serial_number} was at {clash.billing_point.name} "
            f"({clash.billing_point.connection_id}) from "
            f"{fmt_instant(clash.connected_at, tz)} until {until}, which overlaps "
            f"{fmt_instant(start, tz)} – {fmt_instant(end, tz)}.",
            fields={"connected_at": ["overlaps another assignment of this meter"]},
            code="assignment_overlap",
        )
