"""The API's contract where schemathesis found it loose: error answers documented on every
operation, JSON (not the portal's HTML) for unmatched API URLs, strict paging and typed
filters, JSON-only bodies, and inputs that crashed or were silently misread."""

from __future__ import annotations

from datetime import date

import pytest
from drf_spectacular.generators import SchemaGenerator

from billing import services
from billing.services import runs
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import api_client

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_documents_its_error_answers_in_the_error_shape(schema):
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            wanted = ["400", "401", "403", "404", "429"] + ([] if method == "get" else ["409"])
            for code in wanted:
                answer = operation["responses"].get(code)
                ref = (answer or {}).get("content", {}).get("application/json", {}).get(
                    "schema", {}).get("$ref")
                if ref != ERROR_REF:
                    missing.append(f"{method.upper()} {path} {code}")
            retry = operation["responses"]["429"].get("headers", {}).get("Retry-After")
            if not retry:
                missing.append(f"{method.upper()} {path} 429 without Retry-After")
    assert not missing, missing[:20]


def test_a_local_time_of_day_is_documented_by_pattern_not_as_an_rfc3339_time(schema):
    prop = schema["components"]["schemas"]["Batch"]["properties"]["schedule_time"]
    assert "format" not in prop
    import re

    assert re.fullmatch(prop["pattern"], "06:00:00") and re.fullmatch(prop["pattern"], "23:59")
    assert not re.fullmatch(prop["pattern"], "24:00")


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()["error"]
    assert body["status"] == status
    return body


def test_an_api_url_that_matches_no_route_answers_json_in_the_error_shape(world_a):
    client = api_client(key=world_a.read_key)
    body = _error(client.get("/api/v1/meters/not-a-uuid/"), 404)
    assert body["code"] == "not_found"
    assert _error(client.get("/api/v1/no-such-thing/"), 404)["message"]
    # the portal keeps its HTML page
    portal = client.get("/no-such-page/")
    assert portal.status_code == 404 and portal["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("query, field", [
    ("page_size=abc", "page_size"), ("page_size=0", "page_size"), ("page_size=1001", "page_size"),
    ("page=0", "page"), ("page=", "page"), ("page=x", "page"),
    ("enabled=null", "enabled"), ("enabled=", "enabled"), ("transport=", "transport"),
])
def test_paging_and_typed_filters_refuse_what_they_cannot_read(world_a, query, field):
    client = api_client(key=world_a.read_key)
    body = _error(client.get(f"/api/v1/gateways/?{query}"), 400)
    assert field in body["fields"], body


def test_paging_and_filters_still_take_good_values(world_a):
    client = api_client(key=world_a.read_key)
    for query in ("page_size=1000", "page=1", "page=last", "enabled=true", "enabled=False"):
        assert client.get(f"/api/v1/gateways/?{query}").status_code == 200, query


def test_api_bodies_are_json_a_form_post_is_refused_and_changes_nothing(world_a):
    from tenants.models import Tenant

    client = api_client(key=world_a.write_key)
    with organization_context(world_a.org):
        before = Tenant.objects.count()
    response = client.post("/api/v1/tenants/", {"name": "Form Post", "kind": "person"},
                           format="multipart")
    _error(response, 415)
    with organization_context(world_a.org):
        assert Tenant.objects.count() == before


@pytest.mark.parametrize("body, field", [
    ("null", "readings"), ("7", "readings"), ('"x"', "readings"),
    ('{"readings": [], "atomic": {}}', "atomic"), ('{"readings": [], "replace": 3}', "replace"),
])
def test_a_reading_batch_of_the_wrong_shape_is_a_400_naming_the_field(world_a, body, field):
    client = api_client(key=world_a.write_key)
    response = client.post("/api/v1/readings/", body, content_type="application/json")
    assert field in _error(response, 400)["fields"]


def test_a_holiday_calendar_patch_with_a_day_without_date_is_a_400(world_a):
    client = api_client(key=world_a.write_key)
    made = client.post("/api/v1/holiday-calendars/",
                       {"name": "Cantonal", "days": [{"date": "2026-08-01", "name": "Fête"}]})
    assert made.status_code == 201, made.content
    url = f"/api/v1/holiday-calendars/{made.json()['id']}/"
    body = _error(client.patch(url, {"days": [{"name": "no date"}]}), 400)
    assert "days" in body["fields"] or "date" in body["message"], body
    assert client.get(url).json()["days"] == [{"date": "2026-08-01", "name": "Fête"}]


def test_deleting_a_subscription_a_bill_run_used_is_a_409_and_keeps_it(world_a):
    with organization_context(world_a.org):
        house = make_house()
        read(house.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        batch = services.batch_create(name="Monthly")
        services.batch_subscriptions_set(batch=batch, add=[house.subscription])
        runs.bill_run_start(batch=batch, period_start=SEP, period_end=OCT, trigger="api")
    client = api_client(key=world_a.write_key)
    url = f"/api/v1/subscriptions/{house.subscription.public_id}/"
    body = _error(client.delete(url), 409)
    assert "bill run" in body["message"]
    assert client.get(url).status_code == 200


def test_a_delete_the_database_protects_is_a_409_not_a_500():
    """The last wall, for a service that forgot its own check."""
    from django.db.models import ProtectedError
    from rest_framework.exceptions import APIException

    from billspree.core.api_errors import exception_handler
    from tenants.models import Tenant

    exc = ProtectedError("protected", {Tenant(pk=1, name="x")})
    response = exception_handler(exc, {})
    assert response.status_code == 409
    assert response.data["error"]["code"] == "in_use"
    assert "tenant" in response.data["error"]["message"]
    assert not isinstance(exc, APIException)


@pytest.mark.parametrize("header", ["Token abc", "abc", "Api-Key", ""])
def test_credentials_the_api_cannot_read_are_refused_even_with_a_session(world_a, header):
    from tests.conftest import login_client

    client = login_client(world_a.admin, world_a.org)
    assert client.get("/api/v1/organization/").status_code == 200
    response = client.get("/api/v1/organization/", HTTP_AUTHORIZATION=header)
    body = _error(response, 401)
    assert "Api-Key" in body["message"] or "key" in body["message"].lower()
    # basic auth of a proxy in front is not ours to judge
    assert client.get("/api/v1/organization/",
                      HTTP_AUTHORIZATION="Basic dXNlcjpwdw==").status_code == 200
