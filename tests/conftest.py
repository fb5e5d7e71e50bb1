"""Shared fixtures: two organizations (A, the caller's, and B, the other one), clients.

Tests run against real PostgreSQL (``DATABASE_URL``, or the embedded server), real Redis
when ``REDIS_URL`` is set, and real Chromium for ``e2e`` tests. A test that needs a
missing service is skipped locally, but fails when ``BILLSPREE_REQUIRE_SERVICES`` is set
(CI), so CI cannot go green by skipping.
"""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest
from django.test import Client
from rest_framework.test import APIClient

from billspree.core.middleware import SESSION_KEY
from billspree.core.scoping import organization_context
from tests.demo_db import (  # noqa: F401 - fixtures: the demo, seeded once and shared
    demo_database,
    demo_db,
    demo_db_copy,
    demo_seed_started,
    drop_demo_template,
    on_demo_copy,
    on_demo_database,
)
from tests.factories import PASSWORD, OrgWorld, make_org_world, populate_organization


def pytest_collection_modifyitems(config, items) -> None:
    """The tests of the demo run last: the demo is seeded in the background from the first
    test on (``tests/demo_db.py``), so by the time they come it is there and no process
    waits for it. Every process orders the same way (pytest-xdist requires it)."""
    demo = [i for i in items if "demo_database" in getattr(i, "fixturenames", ())]
    if demo and len(demo) < len(items):
        items[:] = [i for i in items if i not in demo] + demo


def pytest_sessionfinish(session) -> None:
    """The controlling process (or the only one) drops the run's demo template."""
    if hasattr(session.config, "workerinput"):
        return
    from django.conf import settings
    from django.db import connection

    if not settings.configured:
        return
    drop_demo_template(connection.settings_dict,
                       connection.creation._get_test_db_name())


def require_service(available: bool, what: str) -> None:
    if available:
        return
    if os.environ.get("BILLSPREE_REQUIRE_SERVICES"):
        pytest.fail(
            f"{what} is required here (BILLSPREE_REQUIRE_SERVICES is set) but not available"
        )
    pytest.skip(f"{what} not available")


def child_database_url() -> str:
    """The test database as ``DATABASE_URL`` for a child process (a worker, beat, the Modbus
    simulator, ``manage.py``) so that it reads and writes the very database of this test run.

    Built from the live connection's settings, whichever server that is: the machine's
    PostgreSQL (``DATABASE_URL``: host name and port) or the embedded server of a fresh
    checkout, which listens only on a Unix socket in ``.data/postgres``. The socket
    directory goes percent-encoded in the host part, as libpq writes it (a bare ``/`` there
    would end the host and make the path the database name); the settings decode it.
    """
    from django.db import connection

    d = connection.settings_dict
    auth = quote(d["USER"] or "postgres", safe="")
    if d["PASSWORD"]:
        auth += ":" + quote(str(d["PASSWORD"]), safe="")
    host = quote(str(d["HOST"] or "127.0.0.1"), safe="")
    return f"postgres://{auth}@{host}:{d['PORT'] or 5432}/{quote(d['NAME'], safe='')}"


@pytest.fixture(autouse=True)
def _email_and_eager_tasks(settings):
    """Emails go to ``mail.outbox``; tasks run inline unless a test starts a real worker."""
    from billspree.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def clear_cache() -> None:
    """Forget every count of the login limiter and the API throttles. On Redis only our
    prefixed keys go (``cache.clear()`` would FLUSHDB the database Celery shares)."""
    from django.conf import settings as django_settings
    from django.core.cache import cache

    if "RedisCache" in django_settings.CACHES["default"]["BACKEND"]:
        client = cache._cache.get_client(None, write=True)
        prefix = django_settings.CACHES["default"].get("KEY_PREFIX", "")
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with no login failures and no throttle counts, so no test is
    throttled by the requests of the tests before it."""
    clear_cache()
    yield


@pytest.fixture
def world_a(db) -> OrgWorld:
    return make_org_world("Alpha Estates", "AARDVARK")


@pytest.fixture
def world_b(db) -> OrgWorld:
    return make_org_world("Beta Housing", "ZEBRA")


@pytest.fixture
def in_org_a(world_a):
    with organization_context(world_a.org):
        yield world_a


@pytest.fixture
def populated(world_a, world_b, django_capture_on_commit_callbacks):
    """Both organizations with a row of every scoped model."""
    with django_capture_on_commit_callbacks(execute=True):
        populate_organization(world_a)
        populate_organization(world_b)
    return world_a, world_b


def login_client(user, org=None) -> Client:
    client = Client(raise_request_exception=True)
    assert client.login(email=user.email, password=PASSWORD)
    if org is not None:
        session = client.session
        session[SESSION_KEY] = str(org.public_id)
        session.save()
    return client


def api_client(key: str | None = None, user=None) -> APIClient:
    client = APIClient(raise_request_exception=True)
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    if user is not None:
        client.force_login(user)
    return client


def redis_up() -> bool:
    """A real Redis answers at REDIS_URL (tests that need a broker skip, or fail in CI, without)."""
    import redis
    from django.conf import settings

    if not settings.REDIS_URL:
        return False
    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False
