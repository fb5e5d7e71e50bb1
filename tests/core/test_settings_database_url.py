"""DATABASE_URL as libpq writes it, read by the settings in a fresh process (no database
needed: settings only parse the URL)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_DB = ("import django, json; django.setup(); from django.conf import settings; "
            "d = settings.DATABASES['default']; print(json.dumps([d['HOST'], d['PORT'], "
            "d['NAME']]))")


def _settings_with(url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "billspree.settings"}
    return subprocess.run([sys.executable, "-c", PRINT_DB], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_socket_directory_in_the_url_is_decoded():
    # the embedded server of a fresh checkout listens on a socket directory; child
    # processes of the tests (workers, the simulator) get it in this form
    done = _settings_with("postgres://postgres@%2Fsrv%2Fbs%20data%2Fpostgres:5433/test_x")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["/srv/bs data/postgres", 5433, "test_x"]


def test_a_host_name_is_kept():
    done = _settings_with("postgres://u:p@db.example.com:5432/billspree")
    assert json.loads(done.stdout) == ["db.example.com", 5432, "billspree"]


def test_another_engine_is_refused_with_a_message():
    done = _settings_with("mysql://u@localhost/billspree")
    assert done.returncode != 0 and "must point at PostgreSQL" in done.stderr
