"""Occupancies: a tenant at a billing point over [move_in, move_out).

Overlaps are refused twice: a query under a row lock of the billing point gives a
message naming the conflicting tenant and dates, and the exclusion constraint catches
whatever a concurrent transaction slipped in (mapped to the same message).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billspree.core.billing_inputs import OCCUPANCY, Impact, InputChange, billing_inputs_notify
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import BillingPoint
from tenants import selectors
from tenants.models import Occupancy, Tenant
from tenants.services.common import (
    OVERLAP_CONSTRAINTS,
    Instant,
    period_text,
    to_instant,
    tz_of,
)

# --- occupancies ------------------------------------------------------------------------


def lock_billing_point(billing_point: BillingPoint) -> None:
    """Serialize period changes of one billing point (the constraint is the backstop).

    ``FOR NO KEY UPDATE``: movers still queue on it, but a row that merely references the
    billing point (billing's adjustment of a late move, written by a concurrent reading
    correction) is not blocked behind it — that wait closed a lock cycle with ingestion."""
    BillingPoint.objects.select_for_update(no_key=True).filter(pk=billing_point.pk).exists()


def _overlap_conflict(conflict: Occupancy, field: str) -> Conflict:
    tz = tz_of(conflict.billing_point)
    message = (
        f"{conflict.tenant.name} ({conflict.tenant.customer_number}) occupies this billing "
        f"point {period_text(conflict.move_in, conflict.move_out, tz)}; "
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


def save_period(row: Any, billing_point: BillingPoint, field: str) -> None:
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


def occupancy_notify(
    billing_point: BillingPoint, start: datetime, what: str, actor: Any, *, readings: Any = None,
) -> list[Impact]:
    """Tell billing (same transaction) that who occupies ``billing_point`` changed from
    ``start`` on (and, for a move, which readings were stored with it); returns what that
    affects: drafts marked stale, adjustments of issued periods."""
    changes = [InputChange(kind=OCCUPANCY, description=what, start=start,
                           billing_point_ids=frozenset({billing_point.pk}))]
    if readings is not None and readings.change is not None:
        changes.append(readings.change)
    return billing_inputs_notify(changes=changes, actor=actor)


def occupancy_new(
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
    save_period(occupancy, billing_point, "move_in")
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
    tz = tz_of(billing_point)
    start = to_instant(move_in, tz, field="move_in")
    end = None if move_out is None else to_instant(move_out, tz, field="move_out")
    lock_billing_point(billing_point)
    occupancy = occupancy_new(tenant, billing_point, start, end)
    occupancy.impacts = occupancy_notify(billing_point, start, f"occupancy of {tenant.name}", actor)
    audit_record(
        action="tenants.occupancy.create",
        actor=actor,
        target=str(occupancy),
        detail={"move_in": start.isoformat(), "move_out": end.isoformat() if end else None,
                "affects_invoices": [i.message for i in occupancy.impacts]},
    )
    return occupancy


@transaction.atomic
def occupancy_end(
    *, occupancy: Occupancy, move_out: Instant, actor: AbstractBaseUser | None = None
) -> Occupancy:
    """Set (or move) the move-out of an occupancy; later occupancies must not be overlapped."""
    billing_point = occupancy.billing_point
    end = to_instant(move_out, tz_of(billing_point), field="move_out")
    lock_billing_point(billing_point)
    occupancy.refresh_from_db()
    _check_order(occupancy.move_in, end)
    _check_free(billing_point, occupancy.move_in, end, exclude_pk=occupancy.pk, field="move_out")
    before = occupancy.move_out
    occupancy.move_out = end
    save_period(occupancy, billing_point, "move_out")
    occupancy.impacts = occupancy_notify(
        billing_point, min(end, before or end), f"move-out of {occupancy.tenant.name}", actor
    )
    audit_record(
        action="tenants.occupancy.end",
        actor=actor,
        target=str(occupancy),
        detail={"move_out": end.isoformat(),
                "affects_invoices": [i.message for i in occupancy.impacts]},
    )
    return occupancy
