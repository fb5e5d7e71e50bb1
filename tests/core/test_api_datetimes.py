"""API datetimes in one form: ISO 8601 in UTC with ``Z``, with a key or a session, in
serializer fields and in hand-built payloads alike (the portal's time zone must not leak
into the API)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from billspree.core import timefmt
from tests.conftest import api_client, login_client

Z_FORM = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_api_instant_is_utc_with_z():
    zurich = datetime(2026, 12, 1, tzinfo=ZoneInfo("Europe/Zurich"))
    assert timefmt.api_instant(zurich) == "2026-11-30T23:00:00Z"
    assert timefmt.api_instant(datetime(2026, 7, 1, 5, 0, 0, 120000, tzinfo=UTC)) == (
        "2026-07-01T05:00:00.120000Z"
    )
    assert timefmt.api_instant(None) is None


def _created_at(payload) -> list[str]:
    rows = payload["results"] if isinstance(payload, dict) else payload
    return [row["created_at"] for row in rows if row.get("created_at")]


def test_the_same_instant_reads_the_same_with_a_key_and_a_session(world_a):
    world_a.org.time_zone = ZoneInfo("Europe/Zurich")
    world_a.org.save(update_fields=["time_zone"])

    by_key = api_client(key=world_a.write_key).get("/api/v1/members/")
    session = login_client(world_a.admin, world_a.org)
    by_session = session.get("/api/v1/members/", HTTP_ACCEPT="application/json")
    assert by_key.status_code == by_session.status_code == 200
    keyed, sessioned = _created_at(by_key.json()), _created_at(by_session.json())
    assert keyed and keyed == sessioned
    assert all(Z_FORM.match(v) for v in keyed), keyed
