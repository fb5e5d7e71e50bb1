"""Roles by enumeration: on every URL, a viewer or a read-only key cannot change anything.

Every unsafe API call by a viewer or a read-only key answers 403 (or 405), every API
call without credentials answers 401, and after a viewer has POSTed, PUT, PATCHed and
DELETEd every URL of the project with the organization's own ids, its data is unchanged.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import api_client, login_client
from tests.test_isolation import (
    all_routes,
    build_portal_world,
    fill_values,
    foreign_ids,
    looked_up,
    org_rows,
    route_model,
    snapshot,
)

UNSAFE = ("post", "put", "patch", "delete")
PUBLIC = {"/api/v1/", "/api/v1/schema/", "/api/v1/docs/"}


def _api_routes():
    return [r for r in all_routes() if r.pattern.startswith("api/v1/")]


def test_api_refuses_anonymous_with_401(populated, settings):
    # hundreds of anonymous requests a minute from one address: past the anonymous rate
    # (tests/core/test_throttling.py tests the throttles)
    settings.API_THROTTLE_ENABLED = False
    world_a, _ = populated
    client = api_client()
    rows_a = org_rows(world_a.org)
    for route in _api_routes():
        ids = foreign_ids(world_a.org, route_model(route), rows=rows_a)
        url = route.fill(fill_values(route, ids, False)[0])
        if url in PUBLIC:
            continue
        for method in ("get", *UNSAFE):
            status = getattr(client, method)(url, data={}).status_code
            assert status in (401, 405), f"{method.upper()} {url} anonymous → {status}"


def test_viewer_and_read_key_cannot_write_anything(populated):
    world_a, _ = populated
    before = snapshot(world_a.org)
    rows_a = org_rows(world_a.org)
    read_key = api_client(key=world_a.read_key)
    viewer_api = api_client(user=world_a.viewer)
    viewer_portal = login_client(world_a.viewer, world_a.org)
    for route in all_routes():
        if route.pattern.startswith("admin/"):
            continue  # a viewer is not staff; the admin is walked in test_isolation
        model = route_model(route)
        ids = foreign_ids(world_a.org, model, rows=rows_a)
        is_api = route.pattern.startswith("api/v1/")
        calls = ([(m, c) for m in UNSAFE for c in (read_key, viewer_api)] if is_api
                 else [(m, viewer_portal) for m in ("post", "delete")])  # portal changes
        for method, client in calls:
            candidates = fill_values(route, ids, False)
            if model is None and "<" in route.pattern:
                # as in the isolation walk: A's rows of the models the view looks the id up
                # in, seen in its answer to a random id (which is checked as well)
                random_kwargs = fill_values(route, ids, True)[0]
                candidates.insert(0, random_kwargs)
                with CaptureQueriesContext(connection) as queries:
                    _viewer_call(client, method, route.fill(random_kwargs), is_api)
                candidates[1:] = fill_values(route, foreign_ids(
                    world_a.org, rows=rows_a, models=looked_up(queries, random_kwargs)), False)
            for kwargs in candidates:
                _viewer_call(client, method, route.fill(kwargs), is_api)
        if route.pattern in LOGOUTS:  # the routes after it are walked logged in again
            viewer_portal = login_client(world_a.viewer, world_a.org)
            viewer_api = api_client(user=world_a.viewer)
    assert snapshot(world_a.org) == before, "a viewer changed the organization's data"


def _viewer_call(client, method: str, url: str, is_api: bool) -> None:
    status = getattr(client, method)(url, data={}).status_code
    if is_api and url not in PUBLIC:
        assert status in (403, 405), f"{method.upper()} {url} → {status}"


# --- a tenant (portal login, no membership) -------------------------------------------------

@pytest.fixture
def portal_world(populated):
    return build_portal_world(*populated)


#: Pages any logged-in user may open (logins, password reset, API root/schema/docs, the
#: load balancers' health check).
OPEN_TO_ANY_LOGIN = ("accounts/", "admin/login/", "api/v1/$", "api/v1/schema/", "api/v1/docs/",
                     "healthz/")
LOGOUTS = ("accounts/logout/", "admin/logout/")
REFUSED = (301, 302, 401, 403, 404, 405)


def _open_to_any_login(pattern: str) -> bool:
    return any(pattern.startswith(p.rstrip("$")) and (not p.endswith("$") or pattern == p[:-1])
               for p in OPEN_TO_ANY_LOGIN)


def test_a_tenant_is_refused_every_manager_page_and_api(portal_world):
    """Tenant A1 calls every URL outside /my/ with A's own ids: refused (403, 401, 405,
    or a redirect to /my/ or a login page), no page shows A's data, nothing changes."""
    pw = portal_world
    world_a = pw.world_a
    before = snapshot(world_a.org)
    client = login_client(pw.a1.user)
    client.raise_request_exception = False
    api = api_client(user=pw.a1.user)
    api.raise_request_exception = False
    rows_a = org_rows(world_a.org)
    for route in all_routes():
        if route.pattern.startswith("my/") or route.pattern in LOGOUTS:
            continue
        ids = foreign_ids(world_a.org, route_model(route), rows=rows_a)
        kwargs = fill_values(route, ids, False)[0]
        url = route.fill(kwargs)
        is_api = route.pattern.startswith("api/")
        for method in ("get", "post", "put", "patch", "delete") if is_api else ("get", "post"):
            response = getattr(api if is_api else client, method)(url, data={})
            where = f"{method.upper()} {url} as tenant A1"
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert world_a.marker.lower().encode() not in body.lower(), f"{where} shows A's data"
            if _open_to_any_login(route.pattern) or url in PUBLIC:
                assert response.status_code < 500, where
                continue
            assert response.status_code in REFUSED, f"{where} → {response.status_code}"
            location = response.get("Location", "")
            if response.status_code in (301, 302):
                assert location.startswith(("/my/", "/accounts/login", "/admin/login",
                                            "/organizations/new/")), f"{where} → {location}"
    assert snapshot(world_a.org) == before, "a tenant changed the organization's data"
