"""Fixtures of the tariffs tests: organization A with meters and tariffs rows (in context)."""

from __future__ import annotations

import pytest

from billspree.core.scoping import organization_context
from tests.meters.factories import populate as populate_meters
from tests.tariffs.factories import populate as populate_tariffs


@pytest.fixture
def tariffs_a(world_a):
    with organization_context(world_a.org):
        populate_meters(world_a)
        populate_tariffs(world_a)
        yield world_a


@pytest.fixture
def tariffs_b(world_b):
    with organization_context(world_b.org):
        populate_meters(world_b)
        populate_tariffs(world_b)
    return world_b
