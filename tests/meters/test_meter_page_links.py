"""Issue 15: the meter page leads to the meter's readings, chart and consumption, and shows
the latest reading and this month's consumption so far (panel of the readings app)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from billspree.core.scoping import organization_context
from tests.billing.builders import BERLIN, make_house, read
from tests.conftest import login_client


def test_meter_page_links_to_readings_chart_and_consumption(world_a):
    world_a.org.time_zone = "Europe/Berlin"
    world_a.org.save()
    now = timezone.now().astimezone(BERLIN)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with organization_context(world_a.org):
        h = make_house(connected=(first - timedelta(days=40)).date())
        start = max(first, now - timedelta(hours=2))  # both readings this month, not ahead
        read(h.meter, (start, "1100"), (max(start + timedelta(seconds=30),
                                            now - timedelta(minutes=1)), "1112.5"))
    client = login_client(world_a.viewer, world_a.org)
    page = client.get(f"/meters/{h.meter.public_id}/").content.decode()
    assert f'href="/readings/meters/{h.meter.public_id}/"' in page
    assert "Readings, chart &amp; consumption" in page
    assert f"/readings/?meter={h.meter.serial_number}" in page
    panel = page[page.index('data-testid="meter-readings-panel"'):]
    assert "1112.5 kWh" in panel  # the latest reading
    assert "(so far)" in panel and "12.5 kWh" in panel  # this month, not a projection
    assert "/readings/upload/" not in panel  # a viewer enters nothing
    manager = login_client(world_a.manager, world_a.org)
    assert "/readings/upload/" in manager.get(f"/meters/{h.meter.public_id}/").content.decode()
