"""The demo building is realistic and the seed is idempotent."""

from __future__ import annotations

import pytest

from meters import demo, selectors
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property

pytestmark = pytest.mark.django_db


def _counts():
    return (
        Property.objects.count(),
        BillingPoint.objects.count(),
        Meter.objects.count(),
        MeterAssignment.objects.count(),
    )


def test_seed_builds_a_building_and_runs_twice(in_org_a):
    demo.seed(in_org_a.org)
    first = _counts()
    demo.seed(in_org_a.org)
    assert _counts() == first
    assert first[1] >= 30
    assert set(Meter.objects.values_list("type", flat=True)) == set(MeterType.values)
    kinds = set(BillingPoint.objects.values_list("kind", flat=True))
    assert {"apartment", "shop", "parking", "common_area"} <= kinds
    main = Meter.objects.get(serial_number="EL-LH-0001")
    assert main.sub_meters.count() >= 24
    replaced = MeterAssignment.objects.get(meter__serial_number="EL-LH-0102")
    successor = MeterAssignment.objects.get(meter__serial_number="EL-LH-1102")
    assert replaced.removed_at == successor.connected_at
    assert replaced.billing_point_id == successor.billing_point_id
    assert selectors.inactive_meters().count() >= len(MeterType.values)
