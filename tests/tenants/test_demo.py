"""The demo seed: a lived-in building, and running it again changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from tenants import demo, selectors
from tenants.models import BadgeAssignment, Move, Occupancy, Ownership, Tenant
from tests.tenants.factories import BERLIN, make_billing_point, make_property


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Tenant, Occupancy, Move, Ownership, BadgeAssignment))


def test_without_billing_points_nothing_is_seeded(in_org_a):
    demo.seed(in_org_a.org)
    assert counts() == (0, 0, 0, 0, 0)


def test_seed_is_realistic_and_idempotent(in_org_a):
    prop = make_property(name="Riverside Block")
    points = [make_billing_point(prop, name=f"Flat {i}") for i in range(24)]
    demo.seed(in_org_a.org)
    first = counts()
    demo.seed(in_org_a.org)
    assert counts() == first

    tenants, occupancies, moves, ownerships, badges = first
    assert ownerships == 1 and badges >= 2 and moves >= 3
    now = datetime.now(tz=BERLIN)
    segments = selectors.occupants_for_billing_points(
        [p.pk for p in points], now - timedelta(days=365), now
    )
    vacant_now = [bp for bp, segs in segments.items() if segs[-1].is_vacancy]
    assert 2 <= len(vacant_now) < len(points) // 2
    assert all(segs[-1].tenant is not None for segs in segments.values()), "owner billed"


def test_seed_gives_one_demo_tenant_a_portal_login(in_org_a):
    from django.test import Client

    from billspree.core.management.commands.demo_seed import DEMO_PASSWORD
    from tenants.models import TenantAccess

    prop = make_property(name="Riverside Block")
    for i in range(4):
        make_billing_point(prop, name=f"Flat {i}")
    demo.seed(in_org_a.org)
    demo.seed(in_org_a.org)  # again: still one login
    assert TenantAccess.objects.count() == 1
    access = TenantAccess.objects.get(email=demo.DEMO_TENANT_EMAIL)
    assert access.accepted_at is not None and access.tenant.occupancies.exists()
    client = Client()
    assert client.login(email=demo.DEMO_TENANT_EMAIL, password=DEMO_PASSWORD)
    assert access.tenant.name.encode() in client.get("/my/").content
