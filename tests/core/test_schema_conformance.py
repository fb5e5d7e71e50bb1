"""Schema conformance: real answers of the API match the OpenAPI schema it publishes.

With an organization that has a row of every model (``populated``) and a billable flat,
every ``GET`` operation of the schema that answers JSON is called (list, then detail with
an id taken from the list, then the detail's own sub-resources), plus the invoice preview
and a reading batch, and each answer is validated against the schema of its status code
with ``jsonschema``. Objects are closed (``additionalProperties: false`` where the schema
lists properties), so a field that is answered but not documented is a mismatch too, as
is a documented field missing, a string where a number is documented, or a quantity with
the wrong number of decimal places.

New endpoints are covered without editing this file; one that cannot be reached (no row
to name) fails ``test_every_json_operation_was_checked`` until it is reachable or listed
in ``NOT_REACHABLE`` with the reason.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator, FormatChecker

from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import api_client, login_client

#: Operations answering JSON that this test cannot call with a real row, and why.
NOT_REACHABLE: dict[str, str] = {}

#: Query parameters a GET needs (the schema marks them required).
QUERY = {
    "/api/v1/readings/": lambda w: {"meter": w.objects["meter"].serial_number},
    "/api/v1/readings/consumption/": lambda w: {
        "meter": w.objects["meter"].serial_number, "from": "2024-01-01", "to": "2027-01-01"},
    "/api/v1/readings/consumption/chart/": lambda w: {"meter": w.objects["meter"].serial_number},
    "/api/v1/measurements/": lambda w: {"sensor": w.objects["sensor"].serial_number},
    "/api/v1/occupancies/occupants/": lambda w: {
        "billing_point": str(w.objects["billing_point"].public_id),
        "start": "2024-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
    "/api/v1/reports/energy/": lambda w: {
        "from": "2024-01-01", "to": "2026-12-31", "group_by": "property,meter_type,month"},
    "/api/v1/monitoring/trends/": lambda w: {
        "from": "2024-01-01", "to": "2026-12-31", "resolution": "month", "compare": "previous",
        "meter_type": "electricity"},
    "/api/v1/monitoring/environment/": lambda w: {"sensor": str(w.objects["sensor"].public_id)},
    "/api/v1/monitoring/load/": lambda w: {"from": "2026-01-01", "to": "2026-12-31"},
    "/api/v1/monitoring/extremes/": lambda w: {"from": "2024-01-01", "to": "2026-12-31"},
}
QUERY["/api/v1/monitoring/losses/"] = lambda w: {"from": "2024-01-01", "to": "2026-12-31"}


# --- OpenAPI 3.0 → JSON Schema ---------------------------------------------------------------


def to_json_schema(node: Any) -> Any:
    """OAS 3.0 ``nullable`` as JSON Schema ``null``, and objects closed to undocumented
    properties."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def schema() -> dict:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return {"paths": raw["paths"], "components": to_json_schema(raw["components"])}


def response_schema(schema: dict, path: str, method: str, status: int) -> dict | None:
    answers = schema["paths"][path][method]["responses"]
    answer = answers.get(str(status))
    if answer is None:
        raise LookupError(f"{method.upper()} {path} answered {status}, not documented")
    content = answer.get("content", {}).get("application/json")
    if content is None:
        return None
    return {**to_json_schema(content["schema"]), "components": schema["components"]}


def mismatches(schema_of_response: dict, body: Any) -> list[str]:
    validator = Draft202012Validator(schema_of_response, format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(body)]


def problems_of(schema: dict, path: str, method: str, response) -> list[str]:
    """What in an answer does not match the schema (one line per mismatch, at most 5)."""
    where = f"{method.upper()} {path} ({response.status_code})"
    if response.status_code >= 500:
        return [f"{where}: server error"]
    try:
        wanted = response_schema(schema, path, method, response.status_code)
    except LookupError as exc:
        return [f"{exc}: {response.content[:300]!r}"]
    if wanted is None:
        return []
    return [f"{where} {p}" for p in dict.fromkeys(
        re.sub(r"/\d+/", "/*/", p) for p in mismatches(wanted, response.json()))][:5]


def check(schema: dict, path: str, method: str, response) -> None:
    problems = problems_of(schema, path, method, response)
    assert not problems, "\n".join(problems)


# --- the walk --------------------------------------------------------------------------------


def _json_gets(schema: dict) -> list[str]:
    paths = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get and "application/json" in get["responses"].get("200", {}).get("content", {}):
            paths.append(path)
    return sorted(paths, key=lambda p: (p.count("{"), p))


def _parent(path: str) -> str | None:
    """``/a/{id}/`` → ``/a/``; ``/a/{id}/b/`` → ``/a/{id}/``."""
    match = re.fullmatch(r"(.*/)\{id\}/(.*)", path)
    if not match:
        return None
    head, tail = match.groups()
    return head if not tail else head + "{id}/"


def _first_id(body: Any) -> str | None:
    rows = body.get("results", body) if isinstance(body, dict) else body
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        return rows[0].get("id")
    return None


@pytest.fixture
def world(populated):
    world_a, _ = populated
    with organization_context(world_a.org):
        house = make_house()
        read(house.meter, (at(date(2026, 9, 1)), "1100"), (at(date(2026, 10, 1)), "1400"))
    world_a.objects["house"] = house
    return world_a


@pytest.fixture
def walk(world, schema) -> tuple[dict[str, str], list[str]]:
    """Call every JSON GET of the schema: what was checked (by path) and the mismatches."""
    client = login_client(world.admin, world.org)
    client.defaults["HTTP_ACCEPT"] = "application/json"
    done: dict[str, str] = {}
    problems: list[str] = []
    ids: dict[str, str] = {}
    for path in _json_gets(schema):
        url = path
        if "{id}" in path:
            parent = _parent(path)
            if parent not in ids:
                continue
            url = path.replace("{id}", ids[parent])
        extra = QUERY.get(path, lambda w: {})(world)
        response = client.get(url, extra)
        problems += problems_of(schema, path, "get", response)
        done[path] = url
        if response.status_code == 200 and (found := _first_id(response.json())):
            ids[path] = found
        elif response.status_code == 200 and "{id}" in path:
            ids[path] = ids[_parent(path)]  # the detail's own id, for its sub-resources
    return done, problems


def test_every_get_answer_matches_the_schema(walk):
    checked, problems = walk
    assert "/api/v1/invoices/{id}/" in checked and "/api/v1/readings/" in checked
    assert not problems, "\n".join(problems)


def test_every_json_operation_was_checked(walk, schema):
    checked, _ = walk
    missed = [p for p in _json_gets(schema) if p not in checked and p not in NOT_REACHABLE]
    assert not missed, f"no row to call these with: {missed}"


def test_the_invoice_preview_and_a_reading_batch_match_the_schema(world, schema):
    manager = api_client(key=world.write_key)
    house = world.objects["house"]
    body = {"subscriptions": [str(house.subscription.public_id)], "start": "2026-09-01",
            "end": "2026-10-01"}
    preview = manager.post("/api/v1/invoices/preview/", body, format="json")
    assert preview.status_code == 200 and preview.json()["invoices"][0]["lines"]
    check(schema, "/api/v1/invoices/preview/", "post", preview)
    created = manager.post("/api/v1/invoices/", body, format="json")
    check(schema, "/api/v1/invoices/", "post", created)
    serial = house.meter.serial_number
    rows = [{"meterNumber": serial, "readAt": "2026-10-02T00:00:00+02:00", "value": "1410"},
            {"meterNumber": "NOPE", "readAt": "2026-10-02", "value": "1"}]
    for batch, status in ((rows, 207), (rows[:1], 200), (rows[1:], 422)):
        response = manager.post("/api/v1/readings/", data=json.dumps(batch),
                                content_type="application/json")
        assert response.status_code == status, response.content
        check(schema, "/api/v1/readings/", "post", response)


def test_the_check_fails_on_a_mistyped_field(world, schema):
    """The validation is not vacuous: a real invoice answer, mis-typed in one place at a
    time, no longer matches."""
    client = api_client(key=world.read_key)
    invoice = world.objects["issued_invoice"]
    body = client.get(f"/api/v1/invoices/{invoice.public_id}/").json()
    wanted = response_schema(schema, "/api/v1/invoices/{id}/", "get", 200)
    assert mismatches(wanted, body) == []
    for mutate in (
        lambda b: b.update(total=float(b["total"])),  # a number, not a decimal string
        lambda b: b["lines"][0].update(quantity="40"),  # not 4 decimal places
        lambda b: b.update(issued_at=None) or b.pop("number"),  # a documented field missing
        lambda b: b["lines"][0].update(kind="bogus"),  # not in the enum
        lambda b: b.update(surprise=1),  # answered but not documented
    ):
        wrong = copy.deepcopy(body)
        mutate(wrong)
        assert mismatches(wanted, wrong), mutate

# scheduled meter reading: every meter of the world, read, interpolated and empty cells
QUERY["/api/v1/monitoring/meter-readings/"] = lambda w: {
    "from": "2026-08-31", "to": "2026-10-02", "every": "day", "measurements": "active_power"}
