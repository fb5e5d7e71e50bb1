"""A real Celery worker imports an uploaded CSV through the real broker (Redis)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile

from billspree.celery import app
from billspree.core.scoping import organization_context
from readings.models import Reading, Upload
from readings.services import upload_create
from tests.conftest import redis_up, require_service
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.redis


def test_worker_imports_an_upload_with_progress(transactional_db, world_a):
    require_service(redis_up(), "Redis (set REDIS_URL)")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with organization_context(world_a.org):
        for n in range(20):
            make_meter(f"WK-{n}", connected_at=start)
    lines = ["meterNumber;readAt;value"] + [
        f"WK-{n};{(start + timedelta(hours=h + 1)).isoformat()};{h},5"
        for h in range(1000)
        for n in range(20)
    ]
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        with organization_context(world_a.org):
            upload = upload_create(
                file=SimpleUploadedFile("big.csv", "\n".join(lines).encode()),
                actor=world_a.operator,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            upload.refresh_from_db()
            if upload.is_finished:
                break
            time.sleep(0.2)
    assert upload.status == Upload.Status.DONE, upload.failure
    assert (upload.rows_total, upload.rows_done, upload.created_count) == (20_000,) * 3
    assert upload.progress_percent == 100
    assert Reading.objects.unscoped().filter(organization=world_a.org).count() == 20_000
