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


def test_the_api_passes_a_bounded_schemathesis_run(fuzz_world, live_server, settings, tmp_path):
    settings.API_THROTTLE_ENABLED = False  # thousands of requests a minute from one key
    command = [
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color", "run",
        f"{live_server.url}/api/v1/schema/?format=json",
        "--header", f"Authorization: Api-Key {fuzz_world.write_key}",
        "--checks", "all",
        "--phases", PHASES,
        "--seed", "20261205", "--max-examples", str(EXAMPLES), "--no-shrink",
        "--generation-database", "none", "--generation-allow-x00", "true",
        "--workers", "1", "--request-timeout", "30",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900,
                         cwd=tmp_path, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-20000:]
    tested = re.search(r"Tested: (\d+)", out)
    assert tested and int(tested.group(1)) >= 200, f"too few operations tested:\n{out[-5000:]}"
