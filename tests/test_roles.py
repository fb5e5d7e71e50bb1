"""Roles by enumeration: on every URL, a viewer or a read-only key cannot change anything.

Every unsafe API call by a viewer or a read-only key answers 403 (or 405), every API
call without credentials answers 401, and after a viewer has POSTed, PUT, PATCHed and
DELETEd every URL of the project with the organization's own ids, its data is unchanged.
"""

from __future__ import annotations

from tests.conftest import api_client, login_client
from tests.test_isolation import all_routes, fill_values, foreign_ids, route_model, snapshot

UNSAFE = ("post", "put", "patch", "delete")
PUBLIC = {"/api/v1/", "/api/v1/schema/", "/api/v1/docs/"}


def _api_routes():
    return [r for r in all_routes() if r.pattern.startswith("api/v1/")]


def test_api_refuses_anonymous_with_401(populated):
    world_a, _ = populated
    client = api_client()
    for route in _api_routes():
        url = route.fill(fill_values(route, foreign_ids(world_a.org, route_model(route)), False)[0])
        if url in PUBLIC:
            continue
        for method in ("get", *UNSAFE):
            status = getattr(client, method)(url, data={}).status_code
            assert status in (401, 405), f"{method.upper()} {url} anonymous → {status}"


def test_viewer_and_read_key_cannot_write_anything(populated):
    world_a, _ = populated
    before = snapshot(world_a.org)
    read_key = api_client(key=world_a.read_key)
    viewer_api = api_client(user=world_a.viewer)
    viewer_portal = login_client(world_a.viewer, world_a.org)
    for route in all_routes():
        if route.pattern.startswith("admin/"):
            continue  # a viewer is not staff; the admin is walked in test_isolation
        for kwargs in fill_values(route, foreign_ids(world_a.org, route_model(route)), False):
            url = route.fill(kwargs)
            if route.pattern.startswith("api/v1/") and url not in PUBLIC:
                for method in UNSAFE:
                    for client in (read_key, viewer_api):
                        status = getattr(client, method)(url, data={}).status_code
                        assert status in (403, 405), f"{method.upper()} {url} → {status}"
            else:
                for method in ("post", "delete"):  # what portal views accept for changes
                    getattr(viewer_portal, method)(url, data={})
    assert snapshot(world_a.org) == before, "a viewer changed the organization's data"
