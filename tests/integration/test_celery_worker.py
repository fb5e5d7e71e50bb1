"""A real Celery worker consumes a real task through the real broker (Redis in CI)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from billspree.celery import app
from billspree.core import services
from billspree.core.models import Invitation
from billspree.core.scoping import organization_context
from tests.conftest import redis_up, require_service
from tests.factories import make_org_world

pytestmark = pytest.mark.redis


def test_worker_sends_invitation_through_redis(transactional_db):
    require_service(redis_up(), "Redis (set REDIS_URL)")
    assert app.conf.broker_url.startswith("redis://")
    world = make_org_world("Worker Estates", "WORKER")
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        with organization_context(world.org):
            invitation, _ = services.invitation_create(
                email="queued@example.test", role="viewer", actor=world.admin
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            invitation.refresh_from_db()
            if invitation.sent_at is not None:
                break
            time.sleep(0.2)
    assert invitation.sent_at is not None, "the worker did not process the task"
    assert [m.to for m in mail.outbox] == [["queued@example.test"]]
    assert Invitation.objects.unscoped().filter(email="queued@example.test").count() == 1
