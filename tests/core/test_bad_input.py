"""Inputs that must get a 400, not a 500 or a hang (issue 14).

NUL characters anywhere a request carries text, dates outside what the product can
compute, JSON nested thousands of levels deep. The walks derive what to send from the
published OpenAPI schema, so a new endpoint or filter is covered without editing this
file; the guards at the end fail when a date field or parser bypasses the one place that
checks it.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

import pytest
from django import forms
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.test import APIClient

from billspree.core.limits import DATE_MAX, DATE_MIN
from billspree.core.models import AuditEvent
from billspree.core.scoping import organization_context
from tests.conftest import login_client

APPS = ("billspree", "meters", "readings", "tenants", "tariffs", "billing", "gateways")

#: Query parameters some list endpoints need before they look at the others.
NEEDS = {
    "/api/v1/readings/": ("meter",),
    "/api/v1/readings/consumption/": ("meter",),
    "/api/v1/readings/consumption/chart/": ("meter",),
    "/api/v1/measurements/": ("meter",),
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"status", "code", "message", "fields"}
    assert body["error"]["status"] == response.status_code
    return body["error"]


def walker(user) -> APIClient:
    """A client that answers 500 as a response (so a walk lists every failure)."""
    client = APIClient(raise_request_exception=False)
    client.force_login(user)
    return client


def list_operations(schema: dict) -> list[tuple[str, list[dict]]]:
    """``GET`` operations without path parameters, with their query parameters."""
    found = []
    for path, operations in sorted(schema["paths"].items()):
        get = operations.get("get")
        if get and "{" not in path:
            found.append((path, [p for p in get.get("parameters", []) if p["in"] == "query"]))
    return found


def request_properties(schema: dict, operation: dict) -> dict[str, dict]:
    """Writable properties of an operation's JSON request body."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return {}
    node = content["schema"]
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return {name: prop for name, prop in node.get("properties", {}).items()
            if not prop.get("readOnly")}


def create_operations(schema: dict) -> list[tuple[str, dict]]:
    return [(path, ops["post"]) for path, ops in sorted(schema["paths"].items())
            if "post" in ops and "{" not in path]


def _problem(where: str, response, name: str, needle: str) -> str | None:
    if response.status_code != 400:
        return f"{where}: {response.status_code} {response.content[:200]!r}"
    err = error_of(response)
    if name not in err["fields"]:
        return f"{where}: 400 without naming {name!r}: {err}"
    if needle not in " ".join(err["fields"][name]) or name not in err["message"]:
        return f"{where}: 400 without saying why: {err}"
    return None


# --- NUL characters ---------------------------------------------------------------------------


def test_nul_in_every_filter_of_every_list_endpoint_is_400_naming_it(world_a, schema):
    client = walker(world_a.admin)
    meter = "AARDVARK-NO-SUCH-METER"
    problems, checked = [], 0
    for path, params in list_operations(schema):
        for param in params:
            name = param["name"]
            query = {n: meter for n in NEEDS.get(path, ()) if n != name}
            response = client.get(path, {**query, name: "a\x00b"})
            checked += 1
            problem = _problem(f"GET {path}?{name}=a%00b", response, name, "NUL")
            if problem:
                problems.append(problem)
    assert checked > 150  # every filter, search, ordering and page parameter of the API
    assert not problems, "\n".join(problems)


def test_nul_in_path_query_name_and_headers_is_400(world_a):
    client = walker(world_a.admin)
    err = error_of(client.get("/api/v1/meters/a%00b/"))
    assert err["status"] == 400 and "path" in err["fields"]
    err = error_of(client.get("/api/v1/meters/?a%00b=1"))
    assert err["status"] == 400 and "a\\x00b" in err["fields"]
    err = error_of(APIClient().get("/api/v1/meters/", HTTP_AUTHORIZATION="Api-Key bsk_a\x00b"))
    assert err["status"] == 400 and "header Authorization" in err["fields"]


def test_nul_in_every_string_field_of_every_create_is_400_and_changes_nothing(world_a, schema):
    client = walker(world_a.admin)
    with organization_context(world_a.org):
        audit_before = AuditEvent.objects.count()
    problems, checked = [], 0
    for path, operation in create_operations(schema):
        for name, prop in request_properties(schema, operation).items():
            if prop.get("type") != "string":
                continue
            response = client.post(path, {name: "a\x00b"}, format="json")
            checked += 1
            problem = _problem(f"POST {path} {name}", response, name, "NUL")
            if problem:
                problems.append(problem)
    assert checked > 50
    assert not problems, "\n".join(problems)
    with organization_context(world_a.org):
        assert AuditEvent.objects.count() == audit_before


def test_nul_in_nested_json_values_and_keys_and_in_form_bodies_names_the_field(world_a):
    client = walker(world_a.admin)
    batch = {"readings": [{"meterNumber": "M-1", "readAt": "2026-01-01T00:00:00Z",
                           "value": "1"},
                          {"meterNumber": "M\x00-2", "readAt": "2026-01-01T00:00:00Z",
                           "value": "1"}]}
    err = error_of(client.post("/api/v1/readings/", batch, format="json"))
    assert list(err["fields"]) == ["readings[1].meterNumber"]
    assert "NUL" in err["message"]
    err = error_of(client.post("/api/v1/properties/", {"name": "P", "extra": {"k\x00": 1}},
                               format="json"))
    assert "extra.k\\x00" in err["fields"]
    err = error_of(client.post("/api/v1/meters/import/", "name=a%00b",
                               content_type="application/x-www-form-urlencoded"))
    assert list(err["fields"]) == ["name"]
    err = error_of(client.post("/api/v1/meters/import/", {"note": "a\x00b"}, format="multipart"))
    assert list(err["fields"]) == ["note"]
    world_a.org.refresh_from_db()
    assert "\x00" not in world_a.org.name


def test_portal_refuses_nul_in_filters_paths_and_forms_with_a_400_page(world_a):
    client = login_client(world_a.manager, world_a.org)
    client.raise_request_exception = False
    for url in ("/meters/?q=a%00b", "/readings/?meter=a%00b", "/tenants/?q=a%00b",
                "/billing/invoices/?q=a%00b", "/properties/a%00b/"):
        page = client.get(url)
        assert page.status_code == 400, url
        html = page.content.decode()
        assert "Bad request" in html and "NUL" in html, url
    page = client.post("/properties/new/", {"name": "Tower\x00", "time_zone": "Europe/Zurich"})
    assert page.status_code == 400 and "name: " in page.content.decode()
    with organization_context(world_a.org):
        from meters.models import Property

        assert not Property.objects.filter(name__startswith="Tower").exists()


# --- JSON nesting -----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000,
                                  '{"name": ' + "[" * 40 + "]" * 40 + "}"])
def test_json_nested_too_deep_is_400(world_a, body):
    client = walker(world_a.admin)
    response = client.post("/api/v1/properties/", body, content_type="application/json")
    err = error_of(response)
    assert err["status"] == 400 and "nested" in err["message"]
    response = client.post("/api/v1/readings/", body, content_type="application/json")
    assert response.status_code == 400
    # within the limit, the body reaches the serializer, which names the field
    response = client.post("/api/v1/properties/", {"name": [[["x"]]]}, format="json")
    assert response.status_code == 400 and "name" in error_of(response)["fields"]


# --- dates ------------------------------------------------------------------------------------

OUT_OF_RANGE = {
    "date": ["0001-01-01", "9999-12-31"],
    "date-time": ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00"],
}
#: Query parameters documented as free strings that take a date or instant.
DATE_PARAMS = {"from": "date-time", "to": "date-time"}
#: Valid values of the other required parameters, so the one under test is what is wrong.
VALID = {
    "/api/v1/readings/consumption/": {"from": "2026-01-01", "to": "2026-02-01"},
    "/api/v1/reports/energy/": {"from": "2026-01-01", "to": "2026-01-31"},
    "/api/v1/monitoring/trends/": {"from": "2026-01-01", "to": "2026-01-31"},
    "/api/v1/monitoring/load/": {"from": "2026-01-01", "to": "2026-01-31"},
    "/api/v1/monitoring/extremes/": {"from": "2026-01-01", "to": "2026-01-31"},
    "/api/v1/occupancies/occupants/": {"billing_point": "(the house's)",
                                       "start": "2026-01-01T00:00:00Z",
                                       "end": "2026-02-01T00:00:00Z"},
}
VALID["/api/v1/monitoring/losses/"] = {"from": "2026-01-01", "to": "2026-01-31"}


def test_dates_out_of_range_in_every_filter_are_400_with_the_range(world_a, schema):
    with organization_context(world_a.org):
        from tests.billing.builders import make_house

        house = make_house()
    meter = house.meter.serial_number
    client = walker(world_a.admin)
    problems, checked = [], 0
    for path, params in list_operations(schema):
        for param in params:
            name = param["name"]
            kind = param["schema"].get("format") or DATE_PARAMS.get(name)
            if path.endswith("/chart/") and kind:
                kind = "date"  # the chart takes local days
            if kind not in OUT_OF_RANGE:
                continue
            query = dict.fromkeys(NEEDS.get(path, ()), meter)
            query.update(VALID.get(path, {}))
            if "billing_point" in query:
                query["billing_point"] = str(house.bp.public_id)
            for value in OUT_OF_RANGE[kind]:
                response = client.get(path, {**query, name: value})
                checked += 1
                problem = _problem(f"GET {path}?{name}={value}", response, name,
                                   DATE_MIN.isoformat())
                if problem:
                    problems.append(problem)
    assert checked >= 20
    assert not problems, "\n".join(problems)


def test_dates_out_of_range_in_every_request_body_are_400_with_the_range(world_a, schema):
    client = walker(world_a.admin)
    problems, checked = [], 0
    paths = schema["paths"]
    operations = [(path, ops[m]) for path, ops in sorted(paths.items())
                  for m in ("post", "patch") if m in ops and "{" not in path]
    for path, operation in operations:
        for name, prop in request_properties(schema, operation).items():
            kind = prop.get("format")
            if kind not in OUT_OF_RANGE:
                continue
            for value in OUT_OF_RANGE[kind]:
                response = client.generic(
                    "PATCH" if path == "/api/v1/organization/" else "POST", path,
                    f'{{"{name}": "{value}"}}', content_type="application/json")
                checked += 1
                problem = _problem(f"POST {path} {name}={value}", response, name,
                                   DATE_MAX.isoformat())
                if problem:
                    problems.append(problem)
    assert checked >= 10
    assert not problems, "\n".join(problems)


def test_year_9999_or_1_reading_in_a_batch_is_refused_and_nothing_stored(world_a):
    with organization_context(world_a.org):
        from readings.models import Reading
        from tests.billing.builders import make_house

        house = make_house()
    client = walker(world_a.admin)
    for read_at in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z", "0001-01-01"):
        response = client.post("/api/v1/readings/", {"readings": [
            {"meterNumber": house.meter.serial_number, "readAt": read_at, "value": "10"}]},
            format="json")
        # a batch whose rows are refused answers 422 (the batch contract), naming the row
        assert response.status_code == 422, response.content[:300]
        err = response.json()["error"]
        assert DATE_MIN.isoformat() in " ".join(err["fields"]["readings[0].readAt"])
    with organization_context(world_a.org):
        assert not Reading.objects.filter(meter=house.meter, value=10).exists()


def test_portal_forms_and_filters_refuse_dates_out_of_range(world_a):
    client = login_client(world_a.manager, world_a.org)
    page = client.get("/readings/", {"start": "0001-01-01", "end": "9999-12-31"})
    assert page.status_code == 200
    assert DATE_MIN.isoformat() in page.content.decode()
    form = importlib.import_module("billing.forms").PeriodForm(
        data={"start": "0001-01-01", "end": "9999-12-31"})
    assert not form.is_valid()
    assert set(form.errors) >= {"start", "end"}
    assert DATE_MAX.isoformat() in str(form.errors["end"])


# --- rate lists with an end date --------------------------------------------------------------


def test_a_rate_list_can_be_created_with_an_end_date(world_a):
    client = walker(world_a.manager)
    response = client.post("/api/v1/rate-lists/", {
        "name": "Winter 2026", "currency": "CHF", "effective_from": "2026-01-01",
        "effective_to": "2026-04-01"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["effective_from"] == "2026-01-01" and body["effective_to"] == "2026-04-01"
    assert body["versions"][0]["effective_to"] == "2026-04-01"

    response = client.post("/api/v1/rate-lists/", {
        "name": "Backwards", "currency": "CHF", "effective_from": "2026-01-01",
        "effective_to": "2026-01-01"}, format="json")
    err = error_of(response)
    assert list(err["fields"]) == ["effective_to"] and "2026-01-01" in err["message"]
    with organization_context(world_a.org):
        from tariffs.models import RateList

        assert list(RateList.objects.values_list("name", flat=True)) == ["Winter 2026"]


# --- guards: one place for every endpoint and form --------------------------------------------


def _our_subclasses(base: type) -> list[type]:
    for app in APPS:
        for module in ("api", "forms", "views", "api_batch", "quotes"):
            with contextlib.suppress(ImportError):
                importlib.import_module(f"{app if app != 'billspree' else 'billspree.core'}."
                                        f"{module}")
    importlib.import_module("billspree.urls")
    seen, stack = [], [base]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.split(".")[0] in APPS:
                seen.append(sub)
    return seen


def _date_fields(serializer: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for name, field in serializer.fields.items():
        child = getattr(field, "child", None) or getattr(field, "child_relation", None)
        for f in (field, child):
            if isinstance(f, serializers.Serializer):
                found += _date_fields(f, f"{prefix}{name}.")
            elif isinstance(f, serializers.DateField | serializers.DateTimeField):
                found.append((prefix + name, f))
    return found


def test_every_api_date_field_is_bounded(db):
    from billspree.core.api_fields import BoundedDateField, BoundedDateTimeField

    bad, checked = [], 0
    for cls in _our_subclasses(serializers.Serializer):
        try:
            instance = cls()
            fields = _date_fields(instance)
        except Exception:  # noqa: BLE001, S112 - needs context to build; the walks cover it
            continue
        for name, field in fields:
            checked += 1
            if not isinstance(field, BoundedDateField | BoundedDateTimeField):
                bad.append(f"{cls.__module__}.{cls.__name__}.{name}: {type(field).__name__}")
    assert checked > 30
    assert not bad, "use billspree.core.api_fields.BoundedDate(Time)Field:\n" + "\n".join(bad)


def test_every_portal_date_field_is_bounded():
    from billspree.core.form_fields import BoundedDateField, BoundedDateTimeField

    bad, checked = [], 0
    for cls in _our_subclasses(forms.BaseForm):
        for name, field in getattr(cls, "base_fields", {}).items():
            if isinstance(field, forms.DateField | forms.DateTimeField):
                checked += 1
                if not isinstance(field, BoundedDateField | BoundedDateTimeField):
                    bad.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert checked > 20
    assert not bad, "use billspree.core.form_fields.BoundedDate(Time)Field:\n" + "\n".join(bad)


def test_every_api_view_parses_with_the_guarded_parsers():
    from drf_spectacular.generators import EndpointEnumerator

    from billspree.core import api_parsers

    guarded = (api_parsers.JSONParser, api_parsers.FormParser, api_parsers.MultiPartParser)
    bad = set()
    for path, *_, view in EndpointEnumerator().get_api_endpoints():
        cls = getattr(view, "cls", None)
        for parser in getattr(cls, "parser_classes", []):
            if not issubclass(parser, guarded):
                bad.add(f"{path}: {parser.__module__}.{parser.__name__}")
    assert not bad, "\n".join(sorted(bad))

VALID["/api/v1/monitoring/meter-readings/"] = {"from": "2026-01-01", "to": "2026-01-31"}
