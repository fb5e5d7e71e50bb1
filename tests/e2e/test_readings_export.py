"""A viewer downloads raw readings from the readings page's form in Chromium: the file has
the hand-computed rows of the DST day (and nothing outside it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from billspree.core.scoping import organization_context
from tests.e2e.conftest import portal_login
from tests.readings.helpers import ingest, make_meter

pytestmark = pytest.mark.e2e


@pytest.fixture
def readings(world_a):
    """EXP-1 in Zurich: 2026-03-28T23:00Z (29 Mar 00:00+01:00) 110.5, 2026-03-29T01:00Z
    (03:00+02:00, after the change) 112.25, 2026-03-29T22:00Z (30 Mar 00:00+02:00: the
    next day, outside) 130 estimated; EXP-2 (not asked for) on the same day."""
    with organization_context(world_a.org):
        meter = make_meter("EXP-1", tz="Europe/Zurich",
                           connected_at=datetime(2026, 3, 1, tzinfo=UTC))
        make_meter("EXP-2", tz="Europe/Zurich", connected_at=datetime(2026, 3, 1, tzinfo=UTC))
        ingest(("EXP-1", "2026-03-28T23:00:00Z", "110.5"),
               ("EXP-1", "2026-03-29T01:00:00Z", "112.25"),
               ("EXP-1", "2026-03-29T22:00:00Z", "130", "estimated"),
               ("EXP-2", "2026-03-29T12:00:00Z", "5"),
               now=datetime(2026, 4, 30, tzinfo=UTC))
    return meter


def test_download_the_dst_day_of_one_meter(page, world_a, readings):
    portal_login(page, world_a.viewer.email)
    page.goto("/readings/")
    form = page.get_by_test_id("readings-export")
    form.get_by_label("Meter numbers").fill("EXP-1")
    form.get_by_label("From day").fill("2026-03-29")
    form.get_by_label("To day").fill("2026-03-29")
    with page.expect_download() as info:
        form.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "readings.csv"
    text = Path(download.path()).read_bytes().decode("utf-8")
    prefix = f"EXP-1,{readings.public_id},kWh,"
    # the 23-hour local day [29 Mar 00:00+01:00, 30 Mar 00:00+02:00): two readings
    assert text.split("\r\n") == [
        "meter,meter_id,unit,read_at,value,source,quality,estimated,anomaly",
        prefix + "2026-03-29T00:00:00+01:00,110.5000,api,actual,false,false",
        prefix + "2026-03-29T03:00:00+02:00,112.2500,api,actual,false,false",
        "",
    ]
