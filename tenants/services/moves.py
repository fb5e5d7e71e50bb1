"""Registering a move: move-out, move-in or vacancy, and meter readings, all or nothing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import BillingPoint, Meter, MeterAssignment
from readings.models import Source
from readings.parsing import RowIn
from readings.services import reading_ingest, upload_close, upload_open
from tenants import selectors
from tenants.models import Move, Occupancy, Tenant
from tenants.services.common import (
    Instant,
    fmt_instant,
    to_instant,
    tz_of,
)
from tenants.services.occupancy import (
    lock_billing_point,
    occupancy_new,
    occupancy_notify,
    save_period,
)
from tenants.services.people import tenant_create

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
                    f"on {fmt_instant(at, tz_of(billing_point))}."
                    for s in unknown
                ]
            }
        )


def _ingest_move_readings(at: datetime, readings: dict[str, Decimal], actor: Any):
    """Store the move readings as readings (manual source), all or nothing.

    Calls the readings app's public ingestion service; a rejected value raises, which
    undoes the whole move.
    """
    if not readings:
        return None
    upload = upload_open(
        source=Source.MANUAL,
        all_or_nothing=True,
        rows_total=len(readings),
        actor=actor,
        api_key=getattr(actor, "api_key", None),
        note="Meter readings of a move",
    )
    rows = [
        RowIn(line=i, meter_number=s, read_at=at, value=v)
        for i, (s, v) in enumerate(sorted(readings.items()), 1)
    ]
    outcome = reading_ingest(rows=rows, source=Source.MANUAL, upload=upload, all_or_nothing=True,
                             notify=False)
    errors = [
        f"Meter {r.meter_number}: {m}"
        for r in outcome.results
        if r.status == "rejected"
        for _c, m in r.errors
    ]
    if errors:
        raise ValidationError({"readings": errors})
    upload_close(upload=upload, rows=len(rows), created=outcome.counts.get("created", 0))
    return outcome


def _move_out(outgoing: Occupancy | None, at: datetime) -> None:
    if outgoing is None:
        return
    if outgoing.move_in >= at:
        raise ValidationError(
            {
                "moved_at": [
                    f"{outgoing.tenant.name} only moved in on "
                    f"{fmt_instant(outgoing.move_in, tz_of(outgoing.billing_point))}; "
                    "a move must come after the move-in."
                ]
            }
        )
    outgoing.move_out = at
    save_period(outgoing, outgoing.billing_point, "moved_at")


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


def _create_incoming(fields: dict[str, Any], actor: Any) -> Tenant:
    """The incoming tenant created with the move; its errors name ``new_<field>``."""
    try:
        return tenant_create(actor=actor, **fields)
    except ValidationError as exc:
        raise ValidationError(
            {f"new_{name}": msgs for name, msgs in exc.message_dict.items()}
        ) from exc


@transaction.atomic
def move_register(
    *,
    billing_point: BillingPoint,
    moved_at: Instant,
    incoming_tenant: Tenant | None = None,
    new_tenant: dict[str, Any] | None = None,
    readings: dict[str, Any] | None = None,
    note: str = "",
    actor: AbstractBaseUser | None = None,
) -> Move:
    """Register a move in one transaction: the outgoing occupant moves out at ``moved_at``,
    ``incoming_tenant`` moves in (None: vacant, billed to the owner), the meters read at
    that instant are stored. Any error undoes everything.

    ``new_tenant`` (the fields of ``tenant_create``) creates the incoming tenant with the
    move, in the same transaction: if the move fails, no tenant is left behind. Its errors
    name the field as ``new_<field>``.

    The incoming occupancy runs until the next recorded move-in, if one exists, else open.
    """
    if new_tenant is not None and incoming_tenant is not None:
        raise ValidationError(
            {"incoming_tenant": ["Choose an existing tenant or create a new one, not both."]}
        )
    at = to_instant(moved_at, tz_of(billing_point), field="moved_at")
    values = _parse_readings(readings)
    lock_billing_point(billing_point)
    outgoing = selectors.occupancy_at(billing_point, at)
    if new_tenant is not None:
        incoming_tenant = _create_incoming(new_tenant, actor)
    _check_move_parties(outgoing, incoming_tenant)
    _check_move_readings(billing_point, at, values)
    _move_out(outgoing, at)
    incoming = None
    if incoming_tenant is not None:
        until = _next_move_in(billing_point, at)
        incoming = occupancy_new(incoming_tenant, billing_point, at, until)
    outcome = _ingest_move_readings(at, values, actor)
    move = Move.objects.create(
        organization=require_organization(),
        billing_point=billing_point,
        moved_at=at,
        outgoing=outgoing,
        incoming=incoming,
        note=note[:200],
        readings={s: str(v) for s, v in values.items()},
    )
    move.impacts = occupancy_notify(
        billing_point, at, f"move of {fmt_instant(at, tz_of(billing_point))}", actor,
        readings=outcome,
    )
    audit_record(
        action="tenants.move.register",
        actor=actor,
        target=str(move),
        detail={
            "outgoing": str(outgoing.tenant) if outgoing else None,
            "incoming": str(incoming_tenant) if incoming_tenant else "vacancy",
            "readings": move.readings,
            "affects_invoices": [i.message for i in move.impacts],
        },
    )
    return move
