"""Demo tenants for the demo building(s) that ``meters/demo.py`` creates (it runs first).

Every property gets an owner (a company, billed for vacancies and common areas); most
billing points get a tenant, some stay vacant, a few have a past move (an earlier tenant
moved out, the current one moved in) and one recently became vacant. A couple of tenants
hold RFID badges. Rows are keyed (customer numbers, "already occupied" checks), so running
the seed again changes nothing. With no billing points, it does nothing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from billspree.core.models import Organization
from meters.models import BillingPoint, Property
from tenants import services
from tenants.models import BadgeAssignment, Occupancy, Ownership, Tenant, TenantAccess

FIRST = [
    "Anna",
    "Luca",
    "Sofia",
    "Noah",
    "Emma",
    "Elias",
    "Mia",
    "Leon",
    "Lea",
    "David",
    "Laura",
    "Jonas",
    "Sara",
    "Tim",
    "Nina",
]
LAST = [
    "Blumer",
    "Rossi",
    "Keller",
    "Meier",
    "Schmid",
    "Weber",
    "Huber",
    "Fischer",
    "Baumann",
    "Frei",
    "Brunner",
    "Graf",
    "Moser",
    "Wyss",
    "Roth",
    "Bianchi",
]
COMPANIES = [
    "Café Aurora GmbH",
    "Pharmacie du Lac SA",
    "Velo Service AG",
    "Studio Nord KLG",
    "Bäckerei Sonnenberg",
    "Treuhand Weiss AG",
]
COMMERCIAL = {BillingPoint.Kind.SHOP, BillingPoint.Kind.OFFICE}


def _tenant(number: str, name: str, **fields) -> Tenant:
    found = Tenant.objects.filter(customer_number=number).first()
    if found is not None:
        return found
    ascii_name = unicodedata.normalize("NFKD", name.split(" (")[0]).encode("ascii", "ignore")
    slug = re.sub(r"[^a-z0-9]+", ".", ascii_name.decode().lower()).strip(".")
    return services.tenant_create(
        customer_number=number, name=name, email=f"{slug}@example.org", **fields
    )


def _owner(org: Organization) -> Tenant:
    return _tenant(
        "D-OWNER",
        f"{org.name.split()[0]} Holdings AG",
        kind="company",
        contact_person="Maria Keller",
        language="de",
    )


def _person(i: int) -> str:
    """A distinct name for every i below 240 (15 × 16 pairs, walked coprimely)."""
    return f"{FIRST[i % len(FIRST)]} {LAST[(3 * i) % len(LAST)]}"


def _occupant(i: int, bp: BillingPoint) -> Tenant:
    """Shops and offices go to companies (one company may rent several units)."""
    if bp.kind in COMMERCIAL:
        n = i % len(COMPANIES)
        return _tenant(
            f"D-CO-{n + 1}", COMPANIES[n], kind="company", contact_person=_person(i + 120)
        )
    return _tenant(f"D-{bp.connection_id}", _person(i), language=("de", "fr", "it", "en")[i % 4])


def _seed_point(i: int, bp: BillingPoint) -> None:
    """Rules by position, so the building looks lived in: every 7th unit is vacant, every
    5th had an earlier tenant (a past move), every 11th was vacated a month ago."""
    if bp.kind == BillingPoint.Kind.COMMON_AREA or i % 7 == 3:
        return  # billed to the owner
    if Occupancy.objects.filter(billing_point=bp).exists():
        return
    tenant = _occupant(i, bp)
    if i % 5 == 1:
        earlier = _tenant(f"D-{bp.connection_id}-E", _person(i + 60))
        services.occupancy_create(tenant=earlier, billing_point=bp, move_in=date(2021, 4, 1))
        services.move_register(
            billing_point=bp,
            moved_at=date(2024, 1 + i % 12, 1),
            incoming_tenant=tenant,
            note="Demo: past move",
        )
        return
    services.occupancy_create(
        tenant=tenant, billing_point=bp, move_in=date(2022 + i % 3, 1 + (i * 5) % 12, 1)
    )
    if i % 11 == 6:
        today = date.today()  # noqa: DTZ011 - a date in the property's calendar
        services.move_register(
            billing_point=bp,
            moved_at=date(today.year, today.month, 1),
            note="Demo: moved out, unit vacant",
        )


def _badges(occupants: list[Tenant]) -> None:
    for n, tenant in enumerate(occupants[:3], 1):
        uid = f"04DE{n:04d}"
        if not BadgeAssignment.objects.filter(badge__uid=uid).exists():
            services.badge_assign(
                uid=uid, label=f"Laundry & EV {n}", tenant=tenant, assigned_at=date(2024, 3, n)
            )


def seed(org: Organization) -> None:
    points = list(BillingPoint.objects.select_related("property").order_by("connection_id"))
    if not points:
        return
    owner = _owner(org)
    for prop in Property.objects.all():
        if not Ownership.objects.filter(property=prop, billing_point__isnull=True).exists():
            services.ownership_set(owner=owner, property=prop)
    for i, bp in enumerate(points):
        _seed_point(i, bp)
    current = Occupancy.objects.filter(move_out__isnull=True).select_related("tenant")
    _badges([o.tenant for o in current.order_by("billing_point__connection_id")])
    _portal_login(current.order_by("billing_point__connection_id").first())


#: A documented demo login of the tenant portal (/my/), with the demo password.
DEMO_TENANT_EMAIL = "tenant@demo.billspree.test"


def _portal_login(occupancy: Occupancy | None) -> None:
    """The first demo organization's first current occupant can log in to /my/ (once: a
    login is one tenant, so later organizations are left alone)."""
    from billspree.core.management.commands.demo_seed import DEMO_PASSWORD
    from billspree.core.models import User

    if occupancy is None or TenantAccess.objects.unscoped().filter(
        email=DEMO_TENANT_EMAIL
    ).exists():
        return
    user = User.objects.filter(email=DEMO_TENANT_EMAIL).first() or User.objects.create_user(
        DEMO_TENANT_EMAIL, DEMO_PASSWORD, first_name=occupancy.tenant.name
    )
    _, token = services.tenant_portal_invite(
        tenant=occupancy.tenant, email=DEMO_TENANT_EMAIL, actor=None
    )
    services.tenant_portal_accept(token=token, user=user)
