"""API keys may carry an expiry (issue 14): set in the portal or the API, in the future only;
an expired key answers 401 saying when it expired; the keys list shows it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from billspree.core import services
from billspree.core.models import ApiKey, ApiKeyScope
from billspree.core.scoping import organization_context
from tests.conftest import api_client, login_client

ZURICH = ZoneInfo("Europe/Zurich")


def _zurich(world) -> None:
    world.org.time_zone = "Europe/Zurich"
    world.org.save(update_fields=["time_zone"])


def _key(world, expires_at) -> tuple[ApiKey, str]:
    with organization_context(world.org):
        return services.api_key_create(name="contractor", scopes=[ApiKeyScope.READ],
                                       actor=world.admin, expires_at=expires_at)


def test_an_expired_key_answers_401_saying_when_it_expired(world_a):
    _zurich(world_a)
    key, secret = _key(world_a, timezone.now().date() + dt.timedelta(days=30))
    assert api_client(secret).get("/api/v1/members/").status_code == 200
    # time passes: the expiry (local midnight, 2 Mar 2026 in Zurich) is behind us
    ApiKey.objects.unscoped().filter(pk=key.pk).update(
        expires_at=dt.datetime(2026, 3, 2, tzinfo=ZURICH), last_used_at=None)
    response = api_client(secret).get("/api/v1/members/")
    assert response.status_code == 401
    key.refresh_from_db()
    assert key.last_used_at is None  # a refused request is not a use
    error = response.json()["error"]
    assert error["code"] == "api_key_expired"
    assert error["message"].startswith("This API key expired on 2 Mar 2026.")
    assert response["WWW-Authenticate"] == 'Api-Key realm="api"'


def test_a_key_expiring_at_a_time_of_day_says_the_time(world_a):
    key, secret = _key(world_a, timezone.now() + dt.timedelta(days=1))
    ApiKey.objects.unscoped().filter(pk=key.pk).update(
        expires_at=dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC))
    message = api_client(secret).get("/api/v1/members/").json()["error"]["message"]
    assert message.startswith("This API key expired on 2 Mar 2026 14:30 UTC.")


def test_the_portal_sets_an_expiry_day_and_lists_it(world_a):
    _zurich(world_a)
    client = login_client(world_a.admin, world_a.org)
    day = timezone.now().astimezone(ZURICH).date() + dt.timedelta(days=400)
    response = client.post("/settings/api-keys/", {"name": "ERP", "scopes": ["read"],
                                                    "expires_on": day.isoformat()})
    assert response.status_code == 200
    key = ApiKey.objects.unscoped().get(name="ERP")
    assert key.expires_at == dt.datetime.combine(day, dt.time(0), tzinfo=ZURICH)
    html = client.get("/settings/api-keys/").content.decode()
    assert f"Expires on {day.day} {day:%b} {day.year}" in html


def test_the_portal_refuses_a_past_expiry_and_creates_nothing(world_a):
    client = login_client(world_a.admin, world_a.org)
    before = ApiKey.objects.unscoped().count()
    response = client.post("/settings/api-keys/", {"name": "Old", "scopes": ["read"],
                                                    "expires_on": "2020-01-01"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="expires_on"' in html and "The expiry must be in the future." in html
    assert ApiKey.objects.unscoped().count() == before


def test_the_keys_list_shows_expired_keys(world_a):
    key, _ = _key(world_a, timezone.now() + dt.timedelta(days=1))
    ApiKey.objects.unscoped().filter(pk=key.pk).update(
        expires_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    html = login_client(world_a.admin, world_a.org).get("/settings/api-keys/").content.decode()
    assert "Expired on 2 Mar 2026" in html and ">expired<" in html
    listed = {k["name"]: k for k in api_client(user=world_a.admin)
              .get("/api/v1/api-keys/").json()["results"]}
    assert listed["contractor"]["active"] is False
    assert listed["contractor"]["expires_at"] == "2026-03-02T00:00:00Z"


def test_the_api_creates_a_key_with_an_expiry_date_or_instant(world_a):
    _zurich(world_a)
    client = api_client(user=world_a.admin)
    day = timezone.now().date() + dt.timedelta(days=90)
    by_day = client.post("/api/v1/api-keys/", {"name": "by day", "scopes": ["read"],
                                               "expires_at": day.isoformat()}, format="json")
    assert by_day.status_code == 201, by_day.content
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=ZURICH)
    assert ApiKey.objects.unscoped().get(name="by day").expires_at == midnight
    assert by_day.json()["active"] is True
    instant = (timezone.now() + dt.timedelta(hours=5)).replace(microsecond=0)
    by_instant = client.post("/api/v1/api-keys/", {
        "name": "by instant", "scopes": ["read"], "expires_at": instant.isoformat()},
        format="json")
    assert by_instant.status_code == 201, by_instant.content
    assert ApiKey.objects.unscoped().get(name="by instant").expires_at == instant
    # the new secret works until then
    assert api_client(by_instant.json()["key"]).get("/api/v1/members/").status_code == 200


def test_the_api_refuses_a_past_or_impossible_expiry_and_creates_nothing(world_a):
    client = api_client(user=world_a.admin)
    before = ApiKey.objects.unscoped().count()
    cases = {
        "2020-01-01": "The expiry must be in the future.",
        "2020-01-01T10:00:00Z": "The expiry must be in the future.",
        "9999-12-31": "Dates must be between 1900-01-01 and 2199-12-31.",
        "2027-02-30": "Datetime has wrong format",
        "soon": "Datetime has wrong format",
    }
    for value, message in cases.items():
        response = client.post("/api/v1/api-keys/", {"name": "x", "scopes": ["read"],
                                                     "expires_at": value}, format="json")
        assert response.status_code == 400, (value, response.content)
        fields = response.json()["error"]["fields"]
        assert list(fields) == ["expires_at"], (value, fields)
        assert message in fields["expires_at"][0], (value, fields)
    assert ApiKey.objects.unscoped().count() == before
