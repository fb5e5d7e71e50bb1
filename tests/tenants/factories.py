"""Rows of every tenants model for one organization (``populate``), and small builders.

A billing point comes from the meters populator when it ran (``world.objects``), else it
is created here from the meters models directly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from meters.models import BillingPoint, Meter, MeterAssignment, Property
from tenants import services
from tenants.models import Tenant

BERLIN = ZoneInfo("Europe/Berlin")
_seq = count(1)


def make_property(name: str = "", tz: str = "Europe/Berlin") -> Property:
    return Property.objects.create(name=name or f"Property {next(_seq)}", time_zone=tz)


def make_billing_point(prop: Property | None = None, name: str = "") -> BillingPoint:
    n = next(_seq)
    return BillingPoint.objects.create(
        property=prop or make_property(), connection_id=f"CONN-{n}", name=name or f"Unit {n}"
    )


def make_meter(
    billing_point: BillingPoint, connected_at: datetime, serial: str = "", initial: str = "0"
) -> Meter:
    meter = Meter.objects.create(
        type="electricity", unit="kWh", serial_number=serial or f"SN-{next(_seq)}"
    )
    MeterAssignment.objects.create(
        meter=meter,
        billing_point=billing_point,
        connected_at=connected_at,
        initial_reading=Decimal(initial),
    )
    return meter


def make_tenant(name: str = "", **fields) -> Tenant:
    return services.tenant_create(name=name or f"Tenant {next(_seq)}", **fields)


def _billing_point(world) -> BillingPoint:
    found = world.objects.get("billing_point")
    if isinstance(found, BillingPoint):
        return found
    prop = world.objects.get("property")
    if not isinstance(prop, Property):
        prop = make_property(name=f"Tenants house {world.marker}")
        world.objects.setdefault("property", prop)
    return make_billing_point(prop, name=f"Flat {world.marker}")


def populate(world) -> None:
    """A tenant, an owner, an occupancy, a move, a badge and its assignment, all marked."""
    bp = _billing_point(world)
    start = datetime(2024, 1, 1, tzinfo=BERLIN)
    owner = make_tenant(name=f"Owner {world.marker}", kind="company")
    tenant = make_tenant(name=f"Tenant {world.marker}", notes=f"note {world.marker}")
    newcomer = make_tenant(name=f"Newcomer {world.marker}")
    ownership = services.ownership_set(owner=owner, property=bp.property)
    occupancy = services.occupancy_create(tenant=tenant, billing_point=bp, move_in=start)
    move = services.move_register(
        billing_point=bp,
        moved_at=start + timedelta(days=200),
        incoming_tenant=newcomer,
        note=f"Move {world.marker}",
    )
    assignment = services.badge_assign(
        uid=f"BADGE{world.marker}", label=f"Badge {world.marker}", tenant=tenant, assigned_at=start
    )
    world.objects.update(
        tenant=tenant,
        owner=owner,
        newcomer=newcomer,
        ownership=ownership,
        occupancy=occupancy,
        move=move,
        badge=assignment.badge,
        badge_assignment=assignment,
        tenants_billing_point=bp,
    )
