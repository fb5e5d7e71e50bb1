"""Seed the demo for a test run, in a process of its own (started by ``tests.demo_db``).

``python -m tests.demo_seed_job <marker> <run>`` seeds the database of ``DATABASE_URL``
as a test process would (``seeding_environment``: tasks inline, mail in memory, the
simulator port of ``GATEWAYS_SIMULATOR_PORT``) and records in the marker file how it ended,
so the test processes waiting for it know.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from pathlib import Path

import pytest  # noqa: F401 - imported first: the settings then take their test values


def main(marker: Path, run: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from tests.demo_db import read_marker, seeding_environment, write_marker

    status = "failed"
    try:
        with seeding_environment(int(os.environ["GATEWAYS_SIMULATOR_PORT"])):
            call_command("demo_seed", stdout=io.StringIO())
        status = "ok"
    except BaseException:
        traceback.print_exc()
        raise
    finally:
        found = read_marker(marker)
        if found.get("run") == run:
            write_marker(marker, {**found, "status": status})
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
