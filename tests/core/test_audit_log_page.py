"""The audit log shows every event: by a member, by an API key (also one deleted since),
by nobody ("system": the demo seed, scheduled runs, a tenant accepting an invitation),
and times in the organization's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from billspree.core.models import ApiKey, AuditEvent
from billspree.core.scoping import organization_context
from tests.conftest import login_client


def test_events_without_a_person_or_key_render(world_a):
    world_a.org.time_zone = ZoneInfo("Europe/Zurich")
    world_a.org.save(update_fields=["time_zone"])
    with organization_context(world_a.org):
        key = ApiKey.objects.first()
        AuditEvent.objects.create(action="demo.seeded", target="nobody", detail={"items": 3})
        AuditEvent.objects.create(action="by.key", target="key", api_key=key)
        gone = AuditEvent.objects.create(action="by.gone", target="gone",
                                         api_key=ApiKey.objects.last())
        AuditEvent.objects.filter(pk=gone.pk).update(
            api_key=None, created_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
        )
    page = login_client(world_a.admin, world_a.org).get("/settings/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "system" in html and f"API key “{key.name}”" in html
    assert "items=3" in html
    assert "1 Dec 2026 00:30" in html  # 23:30 UTC is past midnight in Zurich


def test_instants_in_an_events_detail_are_shown_in_the_organizations_zone(world_a):
    """A move-in at midnight in Zurich is stored in the detail as an ISO instant
    ("2026-11-30T23:00:00+00:00"); the page shows it as people read it: 1 Dec 2026 00:00."""
    world_a.org.time_zone = ZoneInfo("Europe/Zurich")
    world_a.org.save(update_fields=["time_zone"])
    move_in = datetime(2026, 12, 1, tzinfo=ZoneInfo("Europe/Zurich"))
    with organization_context(world_a.org):
        AuditEvent.objects.create(action="occupancy.create", target="Flat 1",
                                  detail={"move_in": move_in.isoformat(), "note": "T1"})
    html = login_client(world_a.admin, world_a.org).get("/settings/audit/").content.decode()
    assert "move_in=1 Dec 2026 00:00" in html
    assert "2026-11-30T23:00" not in html and "2026-12-01T00:00" not in html
    assert "note=T1" in html  # other values as they are
