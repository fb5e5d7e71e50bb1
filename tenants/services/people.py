"""Tenants (people, companies, owners) and who owns what."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import BillingPoint, Property
from tenants.models import Ownership, Tenant
from tenants.services.common import (
    TENANT_FIELDS,
)

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
