"""Organization isolation, proven by enumeration over every URL pattern.

With two populated organizations, members and API keys of A call every URL of the
project (portal, API, admin) filled with B's ids, with every method, and:
- nothing answers 500;
- a URL naming B's row answers exactly as the same URL with a random id (404, or the
  same refusal): another organization's rows are indistinguishable from missing ones;
- no response body contains B's marker text;
- B's rows are byte-for-byte unchanged afterwards;
- every writable relation of every API serializer refuses B's ids with a 400 naming the
  field.
New URL patterns and serializers are covered without editing this file; a new scoped
model must get a row in ``tests/<app>/factories.py`` or ``test_every_scoped_model_is_populated``
fails.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core import serializers as dj_serializers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, PathConverter, StringConverter, UUIDConverter
from rest_framework.relations import ManyRelatedField

from billspree.core.api_base import PublicIdRelatedField
from billspree.core.models import Organization
from billspree.core.scoping import OrganizationOwnedModel
from tests.conftest import api_client, login_client

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    pattern: str  # e.g. "api/v1/members/<id>/"
    converters: dict[str, object]
    callback: object

    def fill(self, values: dict[str, str]) -> str:
        url = self.pattern
        for name, value in values.items():
            url = url.replace(f"<{name}>", value)
        return "/" + url


def _walk(patterns, prefix: str = "", converters: dict | None = None) -> Iterator[Route]:
    for p in patterns:
        conv = {**(converters or {}), **getattr(p.pattern, "converters", {})}
        text = _pattern_text(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + text, conv)
        elif isinstance(p, URLPattern):
            yield Route(prefix + text, conv, p.callback)


def _pattern_text(pattern) -> str:
    """A route with ``<name>`` placeholders, from path() routes and DRF's regex routes."""
    import re

    if hasattr(pattern, "_route"):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", str(pattern._route))
    regex = pattern._regex.lstrip("^").rstrip("$").replace("\\.", ".")
    regex = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", regex)
    return regex.replace("/?", "/").replace("\\", "")


def all_routes() -> list[Route]:
    routes = [r for r in _walk(get_resolver().url_patterns) if "<format>" not in r.pattern]
    assert len(routes) > 20, "URL enumeration found suspiciously few routes"
    return routes


def scoped_models() -> list[type[OrganizationOwnedModel]]:
    return [
        m
        for m in apps.get_models()
        if issubclass(m, OrganizationOwnedModel) and not m._meta.abstract
    ]


def _has_public_id(model) -> bool:
    return any(f.name == "public_id" for f in model._meta.fields)


#: Bookkeeping that reading legitimately touches (an API key's last use).
VOLATILE_FIELDS = {"last_used_at"}


def snapshot(org: Organization) -> str:
    rows = []
    for model in scoped_models():
        qs = model.objects.unscoped().filter(organization=org).order_by("pk")
        fields = [f.name for f in model._meta.fields if f.name not in VOLATILE_FIELDS]
        rows.append(dj_serializers.serialize("json", qs, fields=fields))
    rows.append(dj_serializers.serialize("json", Organization.objects.filter(pk=org.pk)))
    return "\n".join(rows)


def route_model(route: Route):
    """The model a view declares (DRF ``queryset``, generic view ``model``/``queryset``)."""
    view = getattr(route.callback, "cls", None) or getattr(route.callback, "view_class", None)
    model_admin = getattr(route.callback, "model_admin", None)
    if model_admin is not None:
        return model_admin.model
    initkwargs = getattr(route.callback, "view_initkwargs", None) or {}
    model = initkwargs.get("model") or getattr(view, "model", None)
    queryset = initkwargs.get("queryset") or getattr(view, "queryset", None)
    return model or getattr(queryset, "model", None)


def org_rows(org: Organization) -> dict[type, tuple[str, str]]:
    """One row of every scoped model (with a public id) of ``org``: model → (public id, pk)."""
    found = {}
    for m in filter(_has_public_id, scoped_models()):
        row = m.objects.unscoped().filter(organization=org).values_list("public_id", "pk").first()
        if row:
            found[m] = (str(row[0]), str(row[1]))
    return found


def foreign_ids(org: Organization, model=None, *, rows: dict | None = None,
                models: set | None = None) -> dict[str, list[str]]:
    """B's identifiers by converter kind: public ids (uuid) and primary keys (admin).

    When the view names its model only that model's rows are tried (plus the
    organization's own id); otherwise one row of each of ``models`` (default: every
    scoped model). ``rows``: :func:`org_rows` of ``org``, when the caller has them.
    """
    if model is Organization:  # the organization itself, by public id and primary key
        return {"uuid": [str(org.public_id)], "pk": [str(org.pk)]}
    if model in scoped_models():
        models_ = [model]
    else:
        models_ = [m for m in scoped_models() if models is None or m in models]
    models_ = [m for m in models_ if _has_public_id(m)]
    uuids, pks = ([] if len(models_) == 1 and model is not None else [str(org.public_id)]), []
    rows = org_rows(org) if rows is None else rows
    for m in models_:
        if m in rows:
            uuids.append(rows[m][0])
            pks.append(rows[m][1])
    if model is not None and model._meta.label == "core.User":
        # people belong to organizations through memberships: B's are B's members (another
        # model's primary key may well be one of A's members, whom A's admin does see)
        pks = [str(pk) for pk in model.objects.filter(memberships__organization=org)
               .exclude(memberships__organization__in=Organization.objects.exclude(pk=org.pk))
               .values_list("pk", flat=True)]
    return {"uuid": uuids, "pk": pks}


def fill_values(route: Route, ids: dict[str, list[str]], random: bool) -> list[dict[str, str]]:
    """Candidate kwargs for a route: each of B's ids (or one random id) in each slot."""
    names = list(route.converters) or _placeholders(route.pattern)
    if not names:
        return [{}]
    combos: list[dict[str, str]] = []
    for name in names:
        conv = route.converters.get(name)
        if isinstance(conv, UUIDConverter) or (conv is None and name in ("id", "pk")):
            choices = [str(uuid.UUID(int=7))] if random else ids["uuid"]
        elif isinstance(conv, IntConverter | PathConverter) or name in ("object_id",):
            choices = ["999999999"] if random else ids["pk"] + ids["uuid"][-1:]
        elif isinstance(conv, StringConverter) or conv is None:
            choices = ["not-a-real-token"]
        else:
            choices = ["x"]
        combos = [{**c, name: v} for c in (combos or [{}]) for v in choices]
    return combos


#: The admin's "view on site" shortcut: a content type and an object id.
SHORTCUT = "admin/r/<content_type_id>/<object_id>/"


def shortcut_values(org: Organization) -> list[dict[str, str]]:
    """B's rows as the shortcut names them: each scoped model's content type with its B row's
    primary key (every id in every slot would be thousands of pairs, nearly all of them
    meaningless, and would miss most of these)."""
    from django.contrib.contenttypes.models import ContentType

    out = []
    for m in filter(_has_public_id, scoped_models()):
        pk = m.objects.unscoped().filter(organization=org).values_list("pk", flat=True).first()
        if pk is not None:
            out.append({"content_type_id": str(ContentType.objects.get_for_model(m).pk),
                        "object_id": str(pk)})
    return out


def looked_up(queries: CaptureQueriesContext, kwargs: dict[str, str]) -> set[type]:
    """The scoped models whose tables a request's queries named together with one of the
    URL's values (``kwargs``): the models the view looked that id up in.

    A view that does not declare its model could look an id up in any table, and trying a
    row of every scoped model with every caller and method was three quarters of the walk.
    Its answer to a random id shows where it looks: a row of another organization can only
    change the answer through a query by that id, and a random id of the same form takes
    the same path up to that query. So the walk tries B's rows of those models (and B's
    organization's id); a view that queried nothing by the id answered without looking it
    up, and gets B's organization's id only."""
    import re

    values = set(kwargs.values())
    for value in kwargs.values():
        with suppress(ValueError):
            values.add(uuid.UUID(value).hex)
    tables = {m._meta.db_table: m for m in scoped_models()}
    found = set()
    for query in queries.captured_queries:
        sql = query["sql"] or ""
        if any(v in sql for v in values):
            found.update(tables[t] for t in re.findall(r'"(\w+)"', sql) if t in tables)
    return found


def _placeholders(pattern: str) -> list[str]:
    import re

    return re.findall(r"<(\w+)>", pattern)


def _callers(world):
    admin = login_client(world.admin, world.org)
    admin.defaults["HTTP_ACCEPT"] = "application/json, text/html"
    return {
        "admin-session": admin,
        "write-key": api_client(key=world.write_key),
        "viewer-session": login_client(world.viewer, world.org),
    }


def _plan(route: Route, callers: dict) -> tuple[dict, tuple[str, ...]]:
    """Who calls a route with which methods: the API with every method by every kind of
    caller; portal pages (GET/POST/DELETE) by members; the admin by its staff admin."""
    if route.pattern.startswith("api/"):
        return callers, METHODS
    if route.pattern.startswith("admin/"):
        return {"admin-session": callers["admin-session"]}, ("get", "post", "delete")
    members = {k: v for k, v in callers.items() if k != "write-key"}
    return members, ("get", "post", "delete")


def _body_without_marker(response, marker: str, where: str) -> None:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert marker.lower().encode() not in content.lower(), (
        f"{where} leaked the other organization's data"
    )


@pytest.fixture
def staff_a(populated):
    world_a, _ = populated
    world_a.admin.is_staff = True
    world_a.admin.is_superuser = True
    world_a.admin.save()
    return world_a


def test_every_scoped_model_is_populated(populated):
    _, world_b = populated
    empty = [
        m._meta.label
        for m in scoped_models()
        if not m.objects.unscoped().filter(organization=world_b.org).exists()
    ]
    assert not empty, f"tests/<app>/factories.py must create rows of: {empty}"


#: The walk is split into this many tests so pytest-xdist can spread it over its workers.
SHARDS = 4


def _shard(index: int) -> list[Route]:
    """Every SHARDS-th route from ``index``: the shards together are every route, once."""
    return all_routes()[index::SHARDS]


def test_the_admin_has_no_pages_for_celery_beats_schedules(staff_a, populated):
    """Beat's schedules are every organization's (billing batches, gateway polls) in one
    table: the admin of the selected organization offers no page of them."""
    from django_celery_beat.models import PeriodicTask

    world_a, world_b = populated
    theirs = PeriodicTask.objects.exclude(name__icontains=str(world_a.org.pk)).first()
    client = login_client(world_a.admin, world_a.org)
    assert client.get("/admin/").status_code == 200
    assert b"django_celery_beat" not in client.get("/admin/").content
    for url in ("/admin/django_celery_beat/periodictask/",
                f"/admin/django_celery_beat/periodictask/{theirs.pk if theirs else 1}/change/"):
        assert client.get(url).status_code == 404, url


def test_a_staff_user_of_no_organization_sees_no_people_in_the_admin(populated):
    """Without a selected organization the admin's people list is empty: a filter on the
    organization ``None`` would have matched everyone without a membership (tenants)."""
    from billspree.core.models import User
    from tests.factories import PASSWORD

    staff = User.objects.create_user("platform-staff@example.test", PASSWORD, is_staff=True,
                                     is_superuser=True)
    client = login_client(staff)
    page = client.get("/admin/core/user/")
    assert page.status_code == 200
    assert b"portal-zebra" not in page.content and b"portal-aardvark" not in page.content
    assert b"0 users" in page.content or b"0 people" in page.content


def test_the_shards_cover_every_route_once():
    patterns = [r.pattern for i in range(SHARDS) for r in _shard(i)]
    assert sorted(patterns) == sorted(r.pattern for r in all_routes())


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_url_leaks_or_changes_another_organizations_data(shard, staff_a, populated, settings):
    # every route, every caller, several ids: past the per-key rate within the minute
    # (tests/core/test_throttling.py tests the throttles)
    settings.API_THROTTLE_ENABLED = False
    world_a, world_b = populated
    before = snapshot(world_b.org)
    callers = _callers(world_a)
    checked = set()
    routes = _shard(shard)
    rows_b = org_rows(world_b.org)
    for route in routes:
        model = route_model(route)
        ids = foreign_ids(world_b.org, model, rows=rows_b)
        candidates = (shortcut_values(world_b.org) if route.pattern == SHORTCUT
                      else fill_values(route, ids, random=False))
        random_kwargs = fill_values(route, ids, random=True)[0]
        random_url = route.fill(random_kwargs)
        # a view of no scoped model (none declared, or e.g. auth's groups): B's rows of the
        # models it looked the id up in
        undeclared = (route.pattern != SHORTCUT and model not in scoped_models()
                      and model is not Organization
                      and (model is None or model._meta.label != "core.User"))
        route_callers, methods = _plan(route, callers)
        for caller_name, client in route_callers.items():
            for method in methods:
                with CaptureQueriesContext(connection) as queries:
                    baseline = getattr(client, method)(random_url, data={}, follow=False)
                if undeclared:  # B's rows of the models this view looked the id up in
                    candidates = fill_values(route, foreign_ids(
                        world_b.org, rows=rows_b, models=looked_up(queries, random_kwargs)),
                        random=False)
                for kwargs in candidates:
                    url = route.fill(kwargs)
                    response = getattr(client, method)(url, data={}, follow=False)
                    where = f"{method.upper()} {url} as {caller_name}"
                    assert response.status_code < 500, f"{where} → {response.status_code}"
                    _body_without_marker(response, world_b.marker, where)
                    if any(v in ids["uuid"] + ids["pk"] for v in kwargs.values()):
                        assert response.status_code == baseline.status_code, (
                            f"{where} → {response.status_code}, but a random id gives "
                            f"{baseline.status_code}: another organization's row is detectable"
                        )
                        assert response.status_code not in (200, 201, 204), where
                checked.add(route.pattern)
        if "logout" in route.pattern:  # the routes after it are walked logged in again
            callers = _callers(world_a)
    assert checked == {r.pattern for r in routes}, "some URL patterns were not exercised"
    assert snapshot(world_b.org) == before, "another organization's data was changed"


def _writable_relations(serializer) -> Iterator[tuple[str, type]]:
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, PublicIdRelatedField):
            yield name, field.queryset.model
        elif isinstance(field, ManyRelatedField) and isinstance(
            field.child_relation, PublicIdRelatedField
        ):
            yield name, field.child_relation.queryset.model


def test_api_relations_refuse_another_organizations_ids(populated):
    world_a, world_b = populated
    client = api_client(key=world_a.write_key)
    admin = api_client(user=world_a.admin)
    before = snapshot(world_b.org)
    tested = 0
    for route in all_routes():
        cls = getattr(route.callback, "cls", None)
        actions = getattr(route.callback, "actions", None) or {}
        serializer_class = getattr(cls, "serializer_class", None)
        if serializer_class is None or "post" not in actions or _placeholders(route.pattern):
            continue
        for name, model in _writable_relations(serializer_class()):
            foreign = model.objects.unscoped().filter(organization=world_b.org).first()
            assert foreign is not None, f"no {model.__name__} row in B to test {route.pattern}"
            value = str(foreign.public_id)
            field = serializer_class().fields[name]
            payload = {name: [value] if isinstance(field, ManyRelatedField) else value}
            for c in (client, admin):
                response = c.post(
                    "/" + route.pattern, data=json.dumps(payload), content_type="application/json"
                )
                if response.status_code == 403:
                    continue
                assert response.status_code == 400, (
                    f"{route.pattern} {name}: {response.status_code}"
                )
                assert name in response.json()["error"]["fields"], response.json()
                assert world_b.marker.lower() not in response.content.decode().lower()
                tested += 1
    assert snapshot(world_b.org) == before
    # Until an app exposes writable relations this may be zero; it grows with the API.
    assert tested >= 0


# --- tenant vs tenant (the tenant portal, /my/) --------------------------------------------


@dataclass
class PortalWorld:
    world_a: object
    world_b: object
    a1: object  # tenant A1 of A, the caller
    a2: object  # tenant A2 of the same organization
    b1: object  # a tenant of B

    @property
    def markers(self) -> tuple[str, ...]:
        return (self.a2.label, self.world_b.marker)


def build_portal_world(world_a, world_b) -> PortalWorld:
    """In A two tenants with portal logins (A1, A2), each with a home, a meter with
    readings, an issued invoice with a ready PDF statement and a draft; in B one more."""
    from billspree.core.scoping import organization_context
    from tests.tenants.factories_portal import make_portal_tenant

    with organization_context(world_a.org):
        a1 = make_portal_tenant(world_a, "KOALA")
        a2 = make_portal_tenant(world_a, "WOMBAT")
    with organization_context(world_b.org):
        b1 = make_portal_tenant(world_b, f"{world_b.marker}TENANT")
    return PortalWorld(world_a, world_b, a1, a2, b1)


@pytest.fixture
def portal_world(populated) -> PortalWorld:
    return build_portal_world(*populated)


def others_ids(pw: PortalWorld, models: set | None = None,
               rows: dict | None = None) -> list[str]:
    """Ids A1 must not reach: A2's and B's rows, and one row of each of ``models`` (default:
    every scoped model) of both organizations (the owner's, the populated tenant's...),
    minus A1's own. ``rows``: :func:`org_rows` by organization, when the caller has them."""
    found = pw.a2.ids() | pw.b1.ids()
    for org in (pw.world_a.org, pw.world_b.org):
        found |= set(foreign_ids(org, rows=(rows or {}).get(org.pk), models=models)["uuid"])
    return sorted(found - pw.a1.ids())


def test_a_tenant_sees_nothing_of_another_tenant(portal_world):
    """Tenant A1 walks every /my/ URL with A2's ids, B's ids and both organizations' rows
    of the models the view looks the id up in (:func:`looked_up`): each answers exactly as
    a random id (404), no page shows A2's or B's marker, and nothing changes."""
    pw = portal_world
    before = snapshot(pw.world_a.org), snapshot(pw.world_b.org)
    client = login_client(pw.a1.user)
    rows = {org.pk: org_rows(org) for org in (pw.world_a.org, pw.world_b.org)}
    ids = {"uuid": others_ids(pw, rows=rows), "pk": []}
    routes = [r for r in all_routes() if r.pattern.startswith("my/")]
    assert len(routes) >= 9
    for route in routes:
        random_kwargs = fill_values(route, ids, random=True)[0]
        random_url = route.fill(random_kwargs)
        for method in ("get", "post", "delete"):
            with CaptureQueriesContext(connection) as queries:
                baseline = getattr(client, method)(random_url, data={})
            model = route_model(route)
            models = {model} if model is not None else looked_up(queries, random_kwargs)
            tried = {"uuid": others_ids(pw, models, rows), "pk": []}
            for kwargs in fill_values(route, tried, random=False):
                url = route.fill(kwargs)
                response = getattr(client, method)(url, data={})
                where = f"{method.upper()} {url} as tenant A1"
                assert response.status_code < 500, f"{where} → {response.status_code}"
                for marker in pw.markers:
                    _body_without_marker(response, marker, where)
                if "<id>" in route.pattern:
                    assert response.status_code == baseline.status_code, (
                        f"{where} → {response.status_code}, a random id gives "
                        f"{baseline.status_code}: another tenant's row is detectable"
                    )
                    assert response.status_code in (404, 405), where
    # A1 still sees their own (the 404s above were not a lost login)
    own = client.get(f"/my/invoices/{pw.a1.invoice.public_id}/")
    assert own.status_code == 200 and pw.a1.invoice.number.encode() in own.content
    pdf = client.get(f"/my/invoices/{pw.a1.invoice.public_id}/statement.pdf")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert (snapshot(pw.world_a.org), snapshot(pw.world_b.org)) == before
