"""The demo (``manage.py demo_seed``), seeded once per test run and shared.

Seeding the whole demo costs minutes (two organizations, a year of readings and the
hourly/daily/monthly rollups of two years of days, invoices, their PDF statements), and
several modules test it. So it is seeded **once per run**, by a child process, into a
template database (``<test database>_demo_tpl``, a copy of a freshly migrated test
database), as ``manage.py demo_seed`` on an empty database with tasks run inline (rollups
rebuilt, statements rendered) as they do in the tests:

- The child starts as soon as a test process of a run that will need the demo begins
  (``demo_seed_started``, autouse), so the seed overlaps the tests that do not need it.
  A lock file makes the first process start it; the others find its marker (a JSON file
  naming the run) and wait for it only when a test needs the demo.
- Each test process (pytest-xdist worker) then copies the template to a demo database of its
  own (``<its test database>_demo``): its tests never meet the other process's.
- The test databases themselves never hold demo rows, so no other test sees them (the
  isolation walk, row counts...). The template is dropped when the run ends
  (``drop_demo_template``, from ``pytest_sessionfinish`` of the controlling process).

Fixtures:

- ``demo_db``: the test runs on the demo database inside a transaction rolled back after
  it (as ``db`` does), so whatever it writes is gone for the next one. Request it instead
  of ``db`` (it includes it).
- ``demo_db_copy``: the test gets a fresh copy of the demo database (``CREATE DATABASE …
  TEMPLATE``) and commits as it likes (``transactional_db``: a live server, a simulator
  process); the copy is dropped after it.

Between tests the connection points at the test database again. Child processes and the
live server follow the switch: they read ``connection.settings_dict`` (shared by every
thread's connection).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

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
            # FILE_COPY: a 700 MB demo copies in 2 s this way, in 6 s through the WAL
            _execute(f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(template)} "
                     "STRATEGY FILE_COPY")
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
def seeding_environment(port: int) -> Iterator[None]:
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


# --- one seed per run ---------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
#: The run this process belongs to: pytest-xdist gives its workers one id; alone, a new one.
RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
SEED_TIMEOUT_S = 40 * 60


def _base_name(test_name: str) -> str:
    """The run's test database name without the worker's suffix (``test_x_gw1`` → ``test_x``)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return test_name.removesuffix(f"_{worker}") if worker else test_name


@dataclass(frozen=True)
class SeedFiles:
    """The run's template database, and the lock, marker and log files that go with it."""

    template: str
    lock: Path
    marker: Path
    log: Path
    files: Path  # uploads and media the seed wrote, copied into each process's folders

    @classmethod
    def of(cls, base: str) -> SeedFiles:
        tmp = Path(tempfile.gettempdir())
        return cls(f"{base}_demo_tpl", tmp / f"billspree-demo-{base}.lock",
                   tmp / f"billspree-demo-{base}.json", tmp / f"billspree-demo-{base}.log",
                   tmp / f"billspree-demo-{base}-files")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_marker(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_marker(path: Path, data: dict) -> None:
    """Atomically (a reader never sees half a file)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def demo_seed_start(test_name: str) -> None:
    """Start seeding the run's template database in a child process, unless a process of this
    run already did; returns at once."""
    from tests.conftest import child_database_url

    seed = SeedFiles.of(_base_name(test_name))
    with _locked(seed.lock):
        if read_marker(seed.marker).get("run") == RUN:
            return
        _drop(seed.template)
        _copy(seed.template, test_name)  # freshly migrated, empty
        shutil.rmtree(seed.files, ignore_errors=True)
        port = _unused_port()
        write_marker(seed.marker, {"run": RUN, "template": seed.template, "port": port,
                                   "status": "seeding", "pid": None})
        _use(seed.template)
        env = {**os.environ, "DATABASE_URL": child_database_url(),
               "GATEWAYS_SIMULATOR_PORT": str(port),
               "UPLOADS_ROOT": str(seed.files / "uploads"),
               "MEDIA_ROOT": str(seed.files / "media")}
        _use(test_name)
        with open(seed.log, "wb") as log:
            child = subprocess.Popen(  # noqa: S603 - this interpreter, our module
                [sys.executable, "-m", "tests.demo_seed_job", str(seed.marker), RUN],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        _CHILDREN.append(child)
        marker = read_marker(seed.marker)
        if marker.get("status") == "seeding":
            write_marker(seed.marker, {**marker, "pid": child.pid})


#: Seeds this process started (polled, so a finished one is reaped rather than a zombie).
_CHILDREN: list[subprocess.Popen] = []


def _alive(pid: int | None) -> bool:
    for child in _CHILDREN:
        child.poll()
    if pid is None:
        return True  # being started
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def _seeded(test_name: str) -> dict:
    """The run's seed, once it has finished (started here if nobody has yet)."""
    demo_seed_start(test_name)
    seed = SeedFiles.of(_base_name(test_name))
    deadline = time.monotonic() + SEED_TIMEOUT_S
    while True:
        marker = read_marker(seed.marker)
        status = marker.get("status")
        if status == "ok" and marker.get("run") == RUN:
            return marker
        if status != "seeding" or not _alive(marker.get("pid")) or time.monotonic() > deadline:
            try:
                tail = seed.log.read_text(errors="replace")[-4000:]
            except OSError:
                tail = ""
            raise RuntimeError(f"Seeding the demo failed ({status or 'no marker'}); the end of "
                               f"{seed.log}:\n{tail}")
        time.sleep(0.5)


def _copy_files(source: Path) -> None:
    """What the seed stored in its uploads/media folders, into this process's folders."""
    from django.conf import settings

    for name, target in (("uploads", settings.UPLOADS_ROOT), ("media", settings.MEDIA_ROOT)):
        if (source / name).is_dir():
            shutil.copytree(source / name, target, dirs_exist_ok=True)


@pytest.fixture(scope="session", autouse=True)
def demo_seed_started(request) -> None:
    """Begin the run's seed with the first test of a run that will need the demo."""
    if not any("demo_database" in getattr(item, "fixturenames", ())
               for item in request.session.items):
        return
    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        demo_seed_start(connection.settings_dict["NAME"])


@pytest.fixture(scope="session")
def demo_database(django_db_setup, django_db_blocker) -> Iterator[DemoDatabase]:
    """This process's copy of the run's demo (see the module)."""
    test_name = connection.settings_dict["NAME"]
    with django_db_blocker.unblock():
        seeded = _seeded(test_name)
        demo = DemoDatabase(f"{test_name}_demo", seeded["port"])
        _drop(demo.name)
        with _locked(SeedFiles.of(_base_name(test_name)).lock):
            _copy(demo.name, seeded["template"])
        _copy_files(SeedFiles.of(_base_name(test_name)).files)
    yield demo
    with django_db_blocker.unblock():
        _drop(demo.name)


def drop_demo_template(settings_dict: dict, base: str) -> None:
    """End of the run (the controlling process): stop a seed still running, drop the
    template. Straight through psycopg2: Django's connection is not this process's to use."""
    import psycopg2

    seed = SeedFiles.of(base)
    if not seed.marker.exists():
        return
    pid = read_marker(seed.marker).get("pid")
    if pid and _alive(pid):
        with suppress(OSError):
            os.killpg(pid, 15)
    conn = psycopg2.connect(dbname="postgres", host=settings_dict["HOST"] or None,
                            port=settings_dict["PORT"] or None,
                            user=settings_dict["USER"] or None,
                            password=settings_dict["PASSWORD"] or None)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{seed.template}" WITH (FORCE)')
    finally:
        conn.close()
    seed.marker.unlink(missing_ok=True)
    shutil.rmtree(seed.files, ignore_errors=True)


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
