"""Scheduled polling end to end, with nothing in-process: a real ``celery beat`` (the
django-celery-beat database scheduler reading the gateway's ``PeriodicTask``) sends the
poll through real Redis to a real ``celery worker`` process, which polls a real Modbus TCP
server on 127.0.0.1 and stores readings in the real database. Two slots, two readings per
meter, one run per slot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from billspree.celery import app
from billspree.core.scoping import organization_context
from gateways.models import PollRun
from gateways.simulator import SimulatedGateway, SimulatorThread, default_layout, make_meters
from readings.models import Reading
from tests.conftest import child_database_url as _database_url
from tests.conftest import redis_up, require_service
from tests.factories import make_org_world
from tests.gateways.helpers import make_gateway, map_default_layout

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 10  # the shortest poll interval a gateway accepts


def _celery(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billspree", *args, "-l", "info"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _runs(gateway) -> list[PollRun]:
    return list(PollRun.objects.unscoped().filter(gateway=gateway, finished_at__isnull=False)
                .order_by("slot"))


def test_beat_schedules_polls_that_a_worker_stores_as_readings(transactional_db, tmp_path):
    require_service(redis_up(), "Redis (set REDIS_URL)")
    app.control.purge()
    world = make_org_world("Beat Estates", "BEAT")
    store = SimulatedGateway(make_meters(default_layout(3), spread=False))
    logs = {name: tmp_path / f"{name}.log" for name in ("beat", "worker")}
    procs: list[subprocess.Popen] = []
    with SimulatorThread(store) as sim:
        with organization_context(world.org):
            gateway = make_gateway(sim, poll_interval_s=INTERVAL)
            maps = map_default_layout(gateway, 3)
        try:
            procs.append(_celery(["worker", "--pool=solo", "-n", "poller@%h",
                                  "--without-gossip", "--without-mingle",
                                  "--without-heartbeat"], logs["worker"]))
            procs.append(_celery(["beat", "--max-interval", "1",
                                  "-s", str(tmp_path / "beat-schedule")], logs["beat"]))
            deadline = time.monotonic() + 6 * INTERVAL
            while time.monotonic() < deadline and len(_runs(gateway)) < 2:
                time.sleep(0.5)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(20)
            app.control.purge()
    runs = _runs(gateway)
    assert len(runs) >= 2, {name: log.read_text()[-2000:] for name, log in logs.items()}
    assert all(not r.manual and r.status == "ok" and r.readings_stored == 3 for r in runs)
    assert len({r.slot for r in runs}) == len(runs)  # one run per slot
    for register_map in maps:
        stored = Reading.objects.unscoped().filter(meter_id=register_map.meter_id)
        assert stored.count() == len(runs)  # one reading per meter and slot, no duplicates
        assert set(stored.values_list("source", flat=True)) == {"gateway"}
        assert set(stored.values_list("read_at", flat=True)) == {r.started_at.replace(
            microsecond=0) for r in runs}
