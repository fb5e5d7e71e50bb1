"""The demo seed: a year of monthly readings, some 15-minute data, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meters.models import MeterType
from readings import demo
from readings.models import Reading, Upload
from readings.selectors import meter_consumption
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_consistent(in_org_a):
    since = datetime.now(UTC) - timedelta(days=500)
    electric = make_meter("DEMO-E", connected_at=since)
    water = make_meter("DEMO-W", connected_at=since, type=MeterType.COLD_WATER, digits=5)
    demo.seed(in_org_a.org)
    monthly = Reading.objects.filter(meter=water).count()
    total = Reading.objects.count()
    assert monthly == 13
    assert Reading.objects.filter(meter=electric, source="gateway").count() == 3 * 96
    demo.seed(in_org_a.org)
    assert Reading.objects.count() == total
    assert Upload.objects.count() == 2
    year = meter_consumption(
        meter_ids=[water.id],
        start=datetime.now(UTC) - timedelta(days=300),
        end=datetime.now(UTC) - timedelta(days=30),
    )
    assert year[water.id].quantity > 0 and not year[water.id].missing
