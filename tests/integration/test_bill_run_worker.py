"""The issue's key test: a real ``celery worker`` process (real Redis, real PostgreSQL) is
SIGKILLed in the middle of a bill run; a fresh worker (short lease, the sweep re-dispatching
the dead worker's chunk) finishes it, and the invoices are exactly the expected set: one
per tenant and period, no duplicates, no gaps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings

from billing import services
from billing.models import BillRun, BillRunChunk, Invoice
from billing.services import runs
from billing.tasks.runs import bill_runs_sweep
from billspree.celery import app
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import child_database_url as _database_url
from tests.conftest import redis_up, require_service
from tests.factories import make_org_world

pytestmark = pytest.mark.redis

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
ROOT = Path(__file__).resolve().parents[2]
HOUSES, CHUNK, LEASE = 48, 2, 3


def _worker(name: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL,
           "BILL_RUN_LEASE_SECONDS": str(LEASE), "BILL_RUN_CHUNK_SIZE": str(CHUNK)}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billspree", "worker", "--pool=solo",
         "-n", f"{name}@%h", "-l", "info", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _running(run) -> bool:
    return BillRunChunk.objects.unscoped().filter(run=run, status="running").exists()


def _done(run) -> int:
    return BillRunChunk.objects.unscoped().filter(run=run, status="done").count()


def test_worker_killed_mid_run_then_a_fresh_worker_finishes_exactly(
    transactional_db, settings, tmp_path
):
    require_service(redis_up(), "Redis (set REDIS_URL)")
    settings.BILL_RUN_CHUNK_SIZE = CHUNK
    app.control.purge()
    world = make_org_world("Run Worker Estates", "RUNWORKER")
    with organization_context(world.org):
        houses = [make_house(tenant_email=f"w{i}@example.com") for i in range(HOUSES)]
        for h in houses:
            read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        batch = services.batch_create(name="Killed mid-run")
        services.batch_subscriptions_set(batch=batch, add=[h.subscription for h in houses])
    chunks = HOUSES // CHUNK
    app.conf.task_always_eager = False
    first = _worker("first", tmp_path / "first.log")
    second = None
    try:
        with organization_context(world.org):
            run = runs.bill_run_start(batch=batch, period_start=SEP, period_end=OCT,
                                      trigger="api")  # commits: one task per chunk queued
        assert _wait(lambda: _done(run) >= 3 and _running(run), 40), (
            (tmp_path / "first.log").read_text()[-3000:])
        os.killpg(first.pid, signal.SIGKILL)  # mid-chunk: its lease is live, its work lost
        first.wait(10)
        killed_at = _done(run)
        # the chunk the worker was billing (none only if the kill landed right on its
        # COMMIT): left running with a lease nobody renews
        dead = set(BillRunChunk.objects.unscoped().filter(run=run, status="running")
                   .values_list("pk", flat=True))
        assert killed_at < chunks, "the run finished before the kill: make it bigger"
        second = _worker("second", tmp_path / "second.log")

        def finished() -> bool:
            bill_runs_sweep.delay()  # what beat does every minute
            return BillRun.objects.unscoped().get(pk=run.pk).status not in ("queued",
                                                                               "running")

        assert _wait(lambda: finished() or time.sleep(0.5), 45), (
            (tmp_path / "second.log").read_text()[-3000:])
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
        app.control.purge()
    with organization_context(world.org):
        run.refresh_from_db()
        assert run.status == "review", run.status
        assert not run.chunks.exclude(status="done").exists()
        redone = set(run.chunks.filter(attempts=2).values_list("pk", flat=True))
        assert dead <= redone  # the dead worker's chunk was claimed again and billed
        assert set(run.items.values_list("status", flat=True)) == {"created"}
        invoices = Invoice.objects.exclude(status="void")
        billed = sorted(invoices.values_list("tenant_id", "period_start"))
        expected = sorted((h.tenant.pk, at(SEP)) for h in houses)
        assert billed == expected  # exactly one per tenant and period: no dupes, no gaps
        assert {i.bill_run_id for i in invoices} == {run.pk}
        assert all(i.lines.count() == 3 for i in invoices)
