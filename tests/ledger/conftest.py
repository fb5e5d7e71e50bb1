"""The ledger's tests bill Berlin houses (``tests.billing.builders.make_house``), so their
organization keeps Berlin's calendar too: an invoice is booked on its local issue day
where its property is, and "today" in a test must be that same day, also between 23:00 and
24:00 UTC when UTC is still on the day before."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _berlin_organizations(request):
    for name in ("world_a", "world_b"):
        if name in request.fixturenames:
            org = request.getfixturevalue(name).org
            org.time_zone = "Europe/Berlin"
            org.save(update_fields=["time_zone"])
