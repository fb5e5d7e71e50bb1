"""Child processes of the tests (Celery workers, beat, the Modbus simulator, ``manage.py``)
get the test database through ``tests.conftest.child_database_url``: on the machine's
PostgreSQL (``DATABASE_URL``) and on the embedded server of a fresh checkout (no
``DATABASE_URL``: a Unix socket in ``.data/postgres``), they must reach the very database of
the test run, not another server or the development database. ``.ci/run`` runs this file
with and without ``DATABASE_URL``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from billspree.core.models import Organization
from tests.conftest import child_database_url

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; django.setup(); from django.db import connection; "
    "from billspree.core.models import Organization; c = connection.cursor(); "
    "c.execute('SELECT current_database(), pg_postmaster_start_time()::text'); "
    "print(json.dumps([*c.fetchone(), list(Organization.objects.values_list('name', flat=True))]))"
)


def test_a_child_process_reaches_the_test_database_of_this_run(transactional_db):
    Organization.objects.create(name="Seen By The Child")
    with connection.cursor() as cur:
        cur.execute("SELECT current_database(), pg_postmaster_start_time()::text")
        here = list(cur.fetchone())
    env = {**os.environ, "DATABASE_URL": child_database_url(),
           "DJANGO_SETTINGS_MODULE": "billspree.settings"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    name, started, orgs = json.loads(done.stdout.strip().splitlines()[-1])
    assert [name, started] == here  # the same database on the same server
    assert name.startswith("test_")
    assert "Seen By The Child" in orgs
