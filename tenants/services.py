"""State changes of tenants, ownership, occupancies, moves and RFID badges.

Overlaps are refused twice: a query under a row lock of the billing point (or badge)
gives a message naming the conflicting tenant and dates, and the exclusion constraint
catches whatever a concurrent transaction slipped in (mapped to the same message).
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import BillingPoint, Meter, MeterAssignment, Property
from tenants import selectors
from tenants.models import BadgeAssignment, Move, Occupancy, Ownership, RfidBadge, Tenant

TENANT_FIELDS = (
    "kind",
    "name",
    "contact_person",
    "email",
    "phone",
    "language",
    "customer_number",
    "notes",
)
OVERLAP_CONSTRAINTS = ("occupancy_no_overlap_per_billing_point", "badge_one_holder_at_a_time")

Instant = date | datetime


# --- time -------------------------------------------------------------------------------


def to_instant(value: Instant, tz: Any, *, field: str) -> datetime:
    """An aware instant; a plain date is midnight in ``tz`` (the property's time zone)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError({field: ["Give a time zone (or a plain date)."]})
        return value
    if isinstance(value, date):
        zone = tz if not isinstance(tz, str) else ZoneInfo(tz)
        return datetime.combine(value, time(0), tzinfo=zone)
    raise ValidationError({field: ["A date or a date and time is required."]})


def _tz_of(billing_point: BillingPoint) -> Any:
    return Property.objects.only("time_zone").get(pk=billing_point.property_id).time_zone


def _fmt(moment: datetime | None, tz: Any = None) -> str:
    """A date (or date and time) as people on site read it: in the property's time zone."""
    if moment is None:
        return "open end"
    local = moment.astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz)
    return f"{local:%Y-%m-%d}" if local.time() == time(0) else f"{local:%Y-%m-%d %H:%M}"


def _period(start: datetime, end: datetime | None, tz: Any = None) -> str:
    return f"{_fmt(start, tz)} to {_fmt(end, tz)}" if end else f"{_fmt(start, tz)} (open end)"


# --- tenants ----------------------------------------------------------------------------


def _next_customer_number() -> str:
    taken = set(Tenant.objects.values_list("customer_number", flat=True))
    n = len(taken) + 1
    while f"C{n:05d}" in taken:
        n += 1
    return f"C{n:05d}"


def _save_tenant(tenant: Tenant) -> Tenant:
    tenant.name = tenant.name.strip()
    tenant.customer_number = tenant.customer_number.strip() or _next_customer_number()
    tenant.full_clean(exclude=["organization"], validate_unique=False, validate_constraints=False)
    clash = Tenant.objects.filter(customer_number=tenant.customer_number).exclude(pk=tenant.pk)
    if clash.exists():
        raise ValidationError(
            {"customer_number": [f"Customer number {tenant.customer_number} is already in use."]}
        )
    tenant.save()
    return tenant


def _reject_unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(TENANT_FIELDS)
    if unknown:
        raise ValidationError({k: ["This field cannot be set."] for k in sorted(unknown)})


@transaction.atomic
def tenant_create(*, actor: AbstractBaseUser | None = None, **fields: Any) -> Tenant:
    """A tenant (person or company); a blank customer number gets the next free one."""
    _reject_unknown(fields)
    fields.setdefault("customer_number", "")
    tenant = _save_tenant(Tenant(organization=require_organization(), **fields))
    audit_record(action="tenants.tenant.create", actor=actor, target=str(tenant))
    return tenant


@transaction.atomic
def tenant_update(
    *, tenant: Tenant, actor: AbstractBaseUser | None = None, **fields: Any
) -> Tenant:
    _reject_unknown(fields)
    changed = {k: v for k, v in fields.items() if getattr(tenant, k) != v}
    for key, value in changed.items():
        setattr(tenant, key, value)
    _save_tenant(tenant)
    if changed:
        detail = {k: str(v) for k, v in changed.items()}
        audit_record(action="tenants.tenant.update", actor=actor, target=str(tenant), detail=detail)
    return tenant


@transaction.atomic
def tenant_delete(*, tenant: Tenant, actor: AbstractBaseUser | None = None) -> None:
    """Only a tenant with no history: occupancies, badges and ownership are billing records."""
    if (
        tenant.occupancies.exists()
        or tenant.badge_assignments.exists()
        or tenant.ownerships.exists()
    ):
        raise Conflict(
            f"{tenant.name} has occupancies, badges or owns property; their history is kept."
        )
    target = str(tenant)
    tenant.delete()
    audit_record(action="tenants.tenant.delete", actor=actor, target=target)


# --- ownership --------------------------------------------------------------------------


@transaction.atomic
def ownership_set(
    *,
    owner: Tenant,
    property: Property,
    billing_point: BillingPoint | None = None,
    actor: AbstractBaseUser | None = None,
) -> Ownership:
    """Record ``owner`` as the owner of the property (or of one billing point of it)."""
    if billing_point is not None and billing_point.property_id != property.pk:
        raise ValidationError({"billing_point": ["This billing point is in another property."]})
    ownership, _ = Ownership.objects.select_for_update().update_or_create(
        property=property, billing_point=billing_point, defaults={"owner": owner}
    )
    target = str(billing_point or property)
    audit_record(
        action="tenants.ownership.set", actor=actor, target=target, detail={"owner": str(owner)}
    )
    return ownership


# --- occupancies ------------------------------------------------------------------------


def _lock(billing_point: BillingPoint) -> None:
    """Serialize period changes of one billing point (the constraint is the backstop)."""
    BillingPoint.objects.select_for_update().filter(pk=billing_point.pk).exists()


def _overlap_conflict(conflict: Occupancy, field: str) -> Conflict:
    tz = _tz_of(conflict.billing_point)
    message = (
        f"{conflict.tenant.name} ({conflict.tenant.customer_number}) occupies this billing "
        f"point from {_period(conflict.move_in, conflict.move_out, tz)}; "
        "occupancies of one billing point cannot overlap."
    )
    return Conflict(message, fields={field: [message]}, code="occupancy_overlap")


def _check_free(
    billing_point: BillingPoint,
    move_in: datetime,
    move_out: datetime | None,
    *,
    exclude_pk: int | None = None,
    field: str = "move_in",
) -> None:
    conflict = selectors.occupancies_conflicting(
        billing_point, move_in, move_out, exclude_pk=exclude_pk
    ).first()
    if conflict is not None:
        raise _overlap_conflict(conflict, field)


def _check_order(move_in: datetime, move_out: datetime | None, field: str = "move_out") -> None:
    if move_out is not None and move_out <= move_in:
        raise ValidationError({field: ["The move-out must be after the move-in."]})


def _save_period(row: Any, billing_point: BillingPoint, field: str) -> None:
    """Save in a savepoint; an exclusion violation by a concurrent writer becomes a Conflict."""
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError as exc:
        if not any(name in str(exc) for name in OVERLAP_CONSTRAINTS):
            raise
        conflict = selectors.occupancies_conflicting(
            billing_point, row.move_in, row.move_out, exclude_pk=row.pk
        ).first()
        if conflict is None:
            raise Conflict(
                "Another change to this billing point happened at the same time; retry."
            ) from exc
        raise _overlap_conflict(conflict, field) from exc


def _occupancy_new(
    tenant: Tenant, billing_point: BillingPoint, move_in: datetime, move_out: datetime | None
) -> Occupancy:
    _check_order(move_in, move_out)
    _check_free(billing_point, move_in, move_out)
    occupancy = Occupancy(
        organization=require_organization(),
        tenant=tenant,
        billing_point=billing_point,
        move_in=move_in,
        move_out=move_out,
    )
    _save_period(occupancy, billing_point, "move_in")
    return occupancy


@transaction.atomic
def occupancy_create(
    *,
    tenant: Tenant,
    billing_point: BillingPoint,
    move_in: Instant,
    move_out: Instant | None = None,
    actor: AbstractBaseUser | None = None,
) -> Occupancy:
    """``tenant`` at ``billing_point`` over [move_in, move_out); dates are property midnights."""
    tz = _tz_of(billing_point)
    start = to_instant(move_in, tz, field="move_in")
    end = None if move_out is None else to_instant(move_out, tz, field="move_out")
    _lock(billing_point)
    occupancy = _occupancy_new(tenant, billing_point, start, end)
    audit_record(
        action="tenants.occupancy.create",
        actor=actor,
        target=str(occupancy),
        detail={"move_in": start.isoformat(), "move_out": end.isoformat() if end else None},
    )
    return occupancy


@transaction.atomic
def occupancy_end(
    *, occupancy: Occupancy, move_out: Instant, actor: AbstractBaseUser | None = None
) -> Occupancy:
    """Set (or move) the move-out of an occupancy; later occupancies must not be overlapped."""
    billing_point = occupancy.billing_point
    end = to_instant(move_out, _tz_of(billing_point), field="move_out")
    _lock(billing_point)
    occupancy.refresh_from_db()
    _check_order(occupancy.move_in, end)
    _check_free(billing_point, occupancy.move_in, end, exclude_pk=occupancy.pk, field="move_out")
    occupancy.move_out = end
    _save_period(occupancy, billing_point, "move_out")
    audit_record(
        action="tenants.occupancy.end",
        actor=actor,
        target=str(occupancy),
        detail={"move_out": end.isoformat()},
    )
    return occupancy


# --- moves ------------------------------------------------------------------------------


def _next_move_in(billing_point: BillingPoint, after: datetime) -> datetime | None:
    return (
        Occupancy.objects.filter(billing_point=billing_point, move_in__gt=after)
        .order_by("move_in")
        .values_list("move_in", flat=True)
        .first()
    )


def _parse_readings(readings: dict[str, Any] | None) -> dict[str, Decimal]:
    parsed: dict[str, Decimal] = {}
    for serial, raw in (readings or {}).items():
        if raw is None or str(raw).strip() == "":
            continue
        try:
            value = Decimal(str(raw).strip().replace(",", "."))
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value < 0:
            raise ValidationError(
                {"readings": [f"Meter {serial}: {raw!r} is not a register value."]}
            )
        parsed[str(serial)] = value
    return parsed


def move_meters(billing_point: BillingPoint, at: datetime) -> list[Meter]:
    """Meters connected to the billing point at ``at`` (the ones to read at a move)."""
    meter_ids = (
        MeterAssignment.objects.filter(billing_point=billing_point, connected_at__lte=at)
        .filter(Q(removed_at__isnull=True) | Q(removed_at__gt=at))
        .values("meter_id")
    )
    return list(Meter.objects.filter(pk__in=meter_ids).order_by("type", "serial_number"))


def _check_move_readings(
    billing_point: BillingPoint, at: datetime, readings: dict[str, Decimal]
) -> None:
    present = {m.serial_number for m in move_meters(billing_point, at)}
    unknown = sorted(set(readings) - present)
    if unknown:
        raise ValidationError(
            {
                "readings": [
                    f"Meter {s} is not connected to {billing_point.name} "
                    f"on {_fmt(at, _tz_of(billing_point))}."
                    for s in unknown
                ]
            }
        )


def _ingest_move_readings(at: datetime, readings: dict[str, Decimal], actor: Any) -> None:
    """Store the move readings as readings (manual source), all or nothing.

    Calls the readings app's public ingestion service; a rejected value raises, which
    undoes the whole move.
    """
    if not readings:
        return
    from readings.models import Source, Upload
    from readings.parsing import RowIn
    from readings.services import reading_ingest

    api_key = getattr(actor, "api_key", None)
    upload = Upload.objects.create(
        organization=require_organization(),
        source=Source.MANUAL,
        all_or_nothing=True,
        rows_total=len(readings),
        created_by=None if api_key or actor is None or not actor.is_authenticated else actor,
        api_key=api_key,
        note="Meter readings of a move",
    )
    rows = [
        RowIn(line=i, meter_number=s, read_at=at, value=v)
        for i, (s, v) in enumerate(sorted(readings.items()), 1)
    ]
    outcome = reading_ingest(rows=rows, source=Source.MANUAL, upload=upload, all_or_nothing=True)
    errors = [
        f"Meter {r.meter_number}: {m}"
        for r in outcome.results
        if r.status == "rejected"
        for _c, m in r.errors
    ]
    if errors:
        raise ValidationError({"readings": errors})
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.DONE,
        rows_done=len(rows),
        finished_at=timezone.now(),
        created_count=outcome.counts.get("created", 0),
    )


def _move_out(outgoing: Occupancy | None, at: datetime) -> None:
    if outgoing is None:
        return
    if outgoing.move_in >= at:
        raise ValidationError(
            {
                "moved_at": [
                    f"{outgoing.tenant.name} only moved in on "
                    f"{_fmt(outgoing.move_in, _tz_of(outgoing.billing_point))}; "
                    "a move must come after the move-in."
                ]
            }
        )
    outgoing.move_out = at
    _save_period(outgoing, outgoing.billing_point, "moved_at")


def _check_move_parties(outgoing: Occupancy | None, incoming: Tenant | None) -> None:
    if outgoing is None and incoming is None:
        raise ValidationError(
            {
                "incoming_tenant": [
                    "The billing point is already vacant then: choose the incoming tenant."
                ]
            }
        )
    if outgoing is not None and incoming is not None and outgoing.tenant_id == incoming.pk:
        raise ValidationError(
            {
                "incoming_tenant": [
                    f"{incoming.name} is already the occupant; choose someone else or vacancy."
                ]
            }
        )


@transaction.atomic
def move_register(
    *,
    billing_point: BillingPoint,
    moved_at: Instant,
    incoming_tenant: Tenant | None = None,
    readings: dict[str, Any] | None = None,
    note: str = "",
    actor: AbstractBaseUser | None = None,
) -> Move:
    """Register a move in one transaction: the outgoing occupant moves out at ``moved_at``,
    ``incoming_tenant`` moves in (None: vacant, billed to the owner), the meters read at
    that instant are stored. Any error undoes everything.

    The incoming occupancy runs until the next recorded move-in, if one exists, else open.
    """
    at = to_instant(moved_at, _tz_of(billing_point), field="moved_at")
    values = _parse_readings(readings)
    _lock(billing_point)
    outgoing = selectors.occupancy_at(billing_point, at)
    _check_move_parties(outgoing, incoming_tenant)
    _check_move_readings(billing_point, at, values)
    _move_out(outgoing, at)
    incoming = None
    if incoming_tenant is not None:
        until = _next_move_in(billing_point, at)
        incoming = _occupancy_new(incoming_tenant, billing_point, at, until)
    _ingest_move_readings(at, values, actor)
    move = Move.objects.create(
        organization=require_organization(),
        billing_point=billing_point,
        moved_at=at,
        outgoing=outgoing,
        incoming=incoming,
        note=note[:200],
        readings={s: str(v) for s, v in values.items()},
    )
    audit_record(
        action="tenants.move.register",
        actor=actor,
        target=str(move),
        detail={
            "outgoing": str(outgoing.tenant) if outgoing else None,
            "incoming": str(incoming_tenant) if incoming_tenant else "vacancy",
            "readings": move.readings,
        },
    )
    return move


# --- RFID badges ------------------------------------------------------------------------


def _badge_for(uid: str, label: str) -> RfidBadge:
    uid = uid.strip().upper().replace(":", "").replace(" ", "")
    if not uid:
        raise ValidationError({"uid": ["The badge UID is required."]})
    badge, _ = RfidBadge.objects.get_or_create(
        uid=uid, defaults={"organization": require_organization(), "label": label}
    )
    return RfidBadge.objects.select_for_update().get(pk=badge.pk)


def _holder_conflict(held: BadgeAssignment) -> Conflict:
    message = (
        f"Badge {held.badge.uid} is held by {held.tenant.name} ({held.tenant.customer_number}) "
        f"over {_period(held.assigned_at, held.returned_at, _org_tz())}; return it first."
    )
    return Conflict(message, fields={"uid": [message]}, code="badge_held")


def _org_tz() -> Any:
    return require_organization().time_zone


@transaction.atomic
def badge_assign(
    *,
    uid: str,
    tenant: Tenant,
    assigned_at: Instant,
    label: str = "",
    actor: AbstractBaseUser | None = None,
) -> BadgeAssignment:
    """Hand badge ``uid`` (registered on first use) to ``tenant`` from ``assigned_at``."""
    start = to_instant(assigned_at, _org_tz(), field="assigned_at")
    badge = _badge_for(uid, label)
    held = selectors.badge_assignments_conflicting(badge.pk, start, None).first()
    if held is not None:
        raise _holder_conflict(held)
    assignment = BadgeAssignment(
        organization=require_organization(), badge=badge, tenant=tenant, assigned_at=start
    )
    try:
        with transaction.atomic():
            assignment.save()
    except IntegrityError as exc:
        if "badge_one_holder_at_a_time" not in str(exc):
            raise
        raise Conflict(f"Badge {badge.uid} was just given to someone else; retry.") from exc
    audit_record(
        action="tenants.badge.assign",
        actor=actor,
        target=badge.uid,
        detail={"tenant": str(tenant), "from": start.isoformat()},
    )
    return assignment


@transaction.atomic
def badge_return(
    *, assignment: BadgeAssignment, returned_at: Instant, actor: AbstractBaseUser | None = None
) -> BadgeAssignment:
    end = to_instant(returned_at, _org_tz(), field="returned_at")
    assignment = (
        BadgeAssignment.objects.select_for_update()
        .select_related("badge", "tenant")
        .get(pk=assignment.pk)
    )
    if assignment.returned_at is not None:
        raise Conflict(
            f"Badge {assignment.badge.uid} was already returned "
            f"on {_fmt(assignment.returned_at, _org_tz())}."
        )
    if end <= assignment.assigned_at:
        raise ValidationError(
            {"returned_at": ["The return must be after the badge was handed out."]}
        )
    assignment.returned_at = end
    assignment.save(update_fields=["returned_at"])
    audit_record(
        action="tenants.badge.return",
        actor=actor,
        target=assignment.badge.uid,
        detail={"tenant": str(assignment.tenant), "returned_at": end.isoformat()},
    )
    return assignment
