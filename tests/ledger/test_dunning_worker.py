"""A day's reminders sent by a real ``celery worker`` process (real Redis, real PostgreSQL):
the manager confirms in the portal, the request only queues the run, the worker sends it,
and the progress fragment the run page polls goes from queued to done, then asks the page
to reload and the page lists what was sent."""

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
from ledger.models import DunningNotice, DunningRun, DunningRunStatus
from ledger.services import dunning as svc
from tests.billing.builders import make_house
from tests.conftest import child_database_url, login_client, redis_up, require_service
from tests.factories import make_org_world
from tests.ledger.factories_dunning import overdue

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[2]


def _worker(log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": child_database_url(), "REDIS_URL": settings.REDIS_URL,
           "EMAIL_URL": "dummymail://"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billspree", "worker", "--pool=solo",
         "-n", "dunning@%h", "-l", "info", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)


def test_a_worker_sends_the_run_and_the_progress_page_follows(transactional_db, tmp_path):
    require_service(redis_up(), "Redis (set REDIS_URL)")
    app.control.purge()
    world = make_org_world("Dunning Worker Estates", "DUNWORKER")
    with organization_context(world.org):
        svc.dunning_level_create(position=1, name="Reminder", days_overdue=10)
        houses = [make_house(tenant_email=f"late{i}@example.com") for i in range(3)]
        invoices = [overdue(h, f"{50 + i}.00", 15, world.org) for i, h in enumerate(houses)]
    manager = login_client(world.manager, world.org)
    app.conf.task_always_eager = False
    worker = None
    try:
        started = manager.post("/ledger/reminders/send/", {"confirm": "1"})
        assert started.status_code == 302
        with organization_context(world.org):
            run = DunningRun.objects.get()
        assert (run.status, run.planned, run.sent) == (DunningRunStatus.QUEUED, 3, 0)
        progress = f"/ledger/reminders/runs/{run.public_id}/progress/?was=live"
        first = manager.get(progress, HTTP_HX_REQUEST="true")
        assert b'data-status="queued"' in first.content and b'every 2s' in first.content
        worker = _worker(tmp_path / "worker.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            fragment = manager.get(progress, HTTP_HX_REQUEST="true")
            if b'data-status="done"' in fragment.content:
                break
            time.sleep(0.3)
        else:
            pytest.fail((tmp_path / "worker.log").read_text()[-3000:])
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(20)
        app.control.purge()
    assert fragment["HX-Refresh"] == "true" and b"hx-trigger" not in fragment.content
    assert b'data-testid="dunning-run-sent">3<' in fragment.content
    with organization_context(world.org):
        run.refresh_from_db()
        assert (run.status, run.sent, run.failed) == (DunningRunStatus.DONE, 3, 0)
        assert sorted(DunningNotice.objects.filter(run=run).values_list("invoice_id",
                                                                        flat=True)) == \
            sorted(i.pk for i in invoices)
        assert set(DunningNotice.objects.values_list("email_status", flat=True)) == {"sent"}
    page = manager.get(f"/ledger/reminders/runs/{run.public_id}/").content.decode()
    assert all(i.number in page for i in invoices)
