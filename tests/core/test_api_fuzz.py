"""A bounded schemathesis run over the whole API, against a live server on a real database.

Every operation of the published OpenAPI schema is called with the schema's examples and
with generated data, valid and invalid, NUL characters and other hostile strings included,
with an organization that has a row of every model. The run fails on any 5xx, an
undocumented status code or content type, an answer that does not match its schema, an
ignored authentication, … (``--checks all``; the two tuned checks, and why, are in
``tests/schemathesis.toml``).

The seed and example budget are fixed so the run is repeatable and takes about two minutes
on CI. A deeper run by hand adds schemathesis' boundary-value phase (about 10,000 requests,
~12 minutes): ``API_FUZZ_PHASES=examples,coverage,fuzzing API_FUZZ_EXAMPLES=20 make test
ARGS=tests/core/test_api_fuzz.py``. On failure the output names the operation, with a curl
line that reproduces it against any server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import login_client

CONFIG = Path(__file__).resolve().parents[1] / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "5"))
PHASES = os.environ.get("API_FUZZ_PHASES", "examples,fuzzing")


@pytest.fixture
def fuzz_world(transactional_db, populated):
    world_a, _ = populated
    with organization_context(world_a.org):
        house = make_house()
        read(house.meter, (at(date(2026, 9, 1)), "1100"), (at(date(2026, 10, 1)), "1400"))
    return world_a


#: What only an admin may call: a write key answers 403 there, so these get a second run as
#: an admin's portal session.
ADMIN_ONLY = r"^/api/v1/(members|api-keys|invitations|audit-events|organization)/"


def fuzz(url: str, headers: list[str], tmp_path: Path, *extra: str) -> str:
    command = [
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color", "run",
        f"{url}/api/v1/schema/?format=json",
        *[arg for header in headers for arg in ("--header", header)],
        "--checks", "all",
        "--phases", PHASES,
        "--seed", "20261205", "--max-examples", str(EXAMPLES), "--no-shrink",
        "--generation-database", "none", "--generation-allow-x00", "true",
        "--workers", "1", "--request-timeout", "30", "--output-sanitize", "false",
        "--report", "junit", "--report-dir", str(tmp_path), *extra,
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900,
                         cwd=tmp_path, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-20000:]
    return out


def tested(out: str) -> int:
    found = re.search(r"Tested: (\d+)", out)
    return int(found.group(1)) if found else 0


def test_the_api_passes_a_bounded_schemathesis_run_with_a_write_key(
    fuzz_world, live_server, settings, tmp_path
):
    settings.API_THROTTLE_ENABLED = False  # thousands of requests a minute from one key
    out = fuzz(live_server.url, [f"Authorization: Api-Key {fuzz_world.write_key}"], tmp_path)
    assert tested(out) >= 200, f"too few operations tested:\n{out[-5000:]}"


def test_the_admin_only_operations_pass_it_with_an_admin_session(
    fuzz_world, live_server, settings, tmp_path
):
    settings.API_THROTTLE_ENABLED = False
    client = login_client(fuzz_world.admin, fuzz_world.org)
    client.get("/")  # sets the CSRF cookie
    session, csrf = client.cookies["sessionid"].value, client.cookies["csrftoken"].value
    out = fuzz(live_server.url, [f"Cookie: sessionid={session}; csrftoken={csrf}",
                                 f"X-CSRFToken: {csrf}"], tmp_path,
               "--include-path-regex", ADMIN_ONLY)
    assert tested(out) >= 10, f"too few operations tested:\n{out[-5000:]}"
