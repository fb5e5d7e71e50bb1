"""RFID badges: one holder at a time."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from tenants import selectors
from tenants.models import BadgeAssignment, RfidBadge, Tenant
from tenants.services.common import (
    Instant,
    fmt_instant,
    period_text,
    to_instant,
)

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
        f"{period_text(held.assigned_at, held.returned_at, _org_tz())}; return it first."
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
            f"on {fmt_instant(assignment.returned_at, _org_tz())}."
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
