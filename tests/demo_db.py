"""The demo (``manage.py demo_seed``), seeded once per test process and shared.

Seeding the whole demo costs minutes (two organizations, a year of readings and the
hourly/daily/monthly rollups of two years of days, invoices, their PDF statements), and
several modules test it. So the first test that asks for it seeds it, as
``manage.py demo_seed`` on an empty database, into a database of its own: a copy of this
process's freshly migrated test database (``<test database>_demo``), tasks run inline
(rollups rebuilt, statements rendered) as they do in the tests. The test database itself
never holds demo rows, so no other test sees them (the isolation walk, row counts...).

- ``demo_db``: the test runs on the demo database inside a transaction rolled back after
  it (as ``db`` does), so whatever it writes is gone for the next one. Request it instead
  of ``db`` (it includes it).
- ``demo_db_copy``: the test gets a fresh copy of the demo database (``CREATE DATABASE …
  TEMPLATE``) and commits as it likes (``transactional_db``: a live server, a simulator
  process); the copy is dropped after it.

Between tests the connection points at the test database again. Child processes and the
live server follow the switch: they read ``connection.settings_dict`` (shared by every
thread's connection). With pytest-xdist each worker has its own test database, so its own
demo database.
"""

from __future__ import annotations

import io
import os
import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import OperationalError, connection
from django.db.utils import DatabaseError


@dataclass(frozen=True)
class DemoDatabase:
    name: str
    #: ``GATEWAYS_SIMULATOR_PORT`` when the demo was seeded: its gateways point at it.
    simulator_port: int


def _execute(statement: str) -> None:
    """A statement that cannot run in a transaction (CREATE/DROP DATABASE), on the server's
    maintenance database."""
    with connection._nodb_cursor() as cursor:
        cursor.execute(statement)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _copy(name: str, template: str) -> None:
    """``CREATE DATABASE name TEMPLATE template``. PostgreSQL refuses while anyone is
    connected to the template (a live server's or a child's connection may take a moment
    to close): retried for a while."""
    connection.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            _execute(f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(template)}")
            return
        except (OperationalError, DatabaseError) as exc:
            if "is being accessed by other users" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _drop(name: str) -> None:
    _execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")


def _use(name: str) -> None:
    """Point this process's connection (and every thread's: the settings dict is shared)
    at database ``name``; cached content types are forgotten (ids may differ)."""
    from django.contrib.contenttypes.models import ContentType

    connection.close()
    connection.settings_dict["NAME"] = name
    ContentType.objects.clear_cache()


def _unused_port() -> int:
    """A free TCP port below Linux's ephemeral range (32768+), so no client socket or
    other test's ``bind(0)`` takes it before the simulator test listens on it."""
    for _ in range(200):
        port = random.randint(20000, 32000)  # noqa: S311 - a port, not a secret
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the demo simulator")


@contextmanager
def _seeding_environment(port: int) -> Iterator[None]:
    """As a test runs the seed: tasks inline (the rollups rebuilt, the statements
    rendered), mail kept in memory, the simulator on ``port``."""
    from django.test import override_settings

    from billspree.celery import app

    saved_port = os.environ.get("GATEWAYS_SIMULATOR_PORT")
    os.environ["GATEWAYS_SIMULATOR_PORT"] = str(port)
    app.conf.task_always_eager = True
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            yield
    finally:
        app.conf.task_always_eager = False
        if saved_port is None:
            os.environ.pop("GATEWAYS_SIMULATOR_PORT", None)
        else:
            os.environ["GATEWAYS_SIMULATOR_PORT"] = saved_port


@pytest.fixture(scope="session")
def demo_database(django_db_setup, django_db_blocker) -> Iterator[DemoDatabase]:
    """The database holding the demo, seeded once in this process (see the module)."""
    from django.core.management import call_command

    test_name = connection.settings_dict["NAME"]
    demo = DemoDatabase(f"{test_name}_demo", _unused_port())
    with django_db_blocker.unblock():
        _drop(demo.name)
        _copy(demo.name, test_name)
        _use(demo.name)
        try:
            with _seeding_environment(demo.simulator_port):
                call_command("demo_seed", stdout=io.StringIO())  # commits: tasks run after
        except BaseException:
            _use(test_name)
            _drop(demo.name)
            raise
        _use(test_name)
    yield demo
    with django_db_blocker.unblock():
        _drop(demo.name)


@pytest.fixture
def on_demo_database(demo_database) -> Iterator[DemoDatabase]:
    test_name = connection.settings_dict["NAME"]
    assert not connection.in_atomic_block, (
        "request demo_db before db (the test transaction must begin on the demo database)"
    )
    _use(demo_database.name)
    yield demo_database
    _use(test_name)


@pytest.fixture
def demo_db(on_demo_database, db) -> DemoDatabase:
    """The test runs on the shared demo database, in a transaction rolled back after it."""
    assert connection.settings_dict["NAME"] == on_demo_database.name
    return on_demo_database


@pytest.fixture
def on_demo_copy(demo_database, django_db_blocker) -> Iterator[DemoDatabase]:
    test_name = connection.settings_dict["NAME"]
    assert not connection.in_atomic_block, "request demo_db_copy before transactional_db"
    copy = f"{demo_database.name}_copy"
    with django_db_blocker.unblock():
        _drop(copy)
        _copy(copy, demo_database.name)
    _use(copy)
    yield DemoDatabase(copy, demo_database.simulator_port)
    _use(test_name)
    with django_db_blocker.unblock():
        _drop(copy)


@pytest.fixture
def demo_db_copy(on_demo_copy, transactional_db) -> DemoDatabase:
    """A fresh copy of the demo database for a test that commits (dropped after it)."""
    assert connection.settings_dict["NAME"] == on_demo_copy.name
    return on_demo_copy
