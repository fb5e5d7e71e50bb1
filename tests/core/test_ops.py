"""What operators watch: ``/healthz/`` for load balancers, ``/ops/status/`` for platform
staff, against the real database, the real Redis broker and a real Celery worker."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from billspree.celery import app
from billspree.core import ops
from tests.conftest import login_client, redis_up, require_service
from tests.factories import make_user


def _rows(html: str) -> dict[str, str]:
    """Check name (slug) → 'ok' / 'warn' / 'bad', from the status table."""
    import re

    return dict(re.findall(r'<tr data-check="([\w-]+)">\s*<td><span class="check check-(\w+)"',
                           html))


def test_healthz_answers_anonymous_callers_with_the_database_and_broker(db):
    r = Client().get("/healthz/")
    assert r.status_code == 200, r.content
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert "redis" not in r.content.decode()  # no addresses for anonymous callers


def test_healthz_is_503_naming_the_broker_when_it_is_down(db, settings):
    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        r = Client().get("/healthz/")
    finally:
        app.conf.broker_url = previous
    assert r.status_code == 503
    body = json.loads(r.content)
    assert body["status"] == "unavailable" and body["checks"]["broker"] == "failing"
    assert body["checks"]["database"] == "ok"


def test_status_page_is_for_platform_staff_only(world_a):
    assert Client().get("/ops/status/").status_code == 302  # to the login page
    admin = login_client(world_a.admin, world_a.org)  # an organization's admin is not staff
    admin.raise_request_exception = False
    assert admin.get("/ops/status/").status_code == 403


@pytest.mark.redis
def test_status_page_shows_workers_beat_and_what_apps_report(transactional_db, world_a):
    require_service(redis_up(), "Redis (set REDIS_URL)")
    staff = login_client(make_user("ops@example.test", is_staff=True))
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="ops-test", task="x", interval=every,
                                       last_run_at=timezone.now() - timedelta(seconds=30))
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        page = staff.get("/ops/status/").content.decode()
    rows = _rows(page)
    assert rows["database"] == "ok" and rows["broker"] == "ok" and rows["migrations"] == "ok"
    assert rows["workers"] == "ok" and "1 answering" in page
    assert rows["beat"] == "ok"
    assert {"gateways", "bill-runs", "statements"} <= rows.keys()
    assert world_a.marker not in page  # counts only, no organization's data
    task.last_run_at = timezone.now() - timedelta(minutes=10)
    task.save()
    page = staff.get("/ops/status/").content.decode()  # the worker is gone too
    rows = _rows(page)
    assert rows["beat"] == "bad" and "beat looks down" in page
    assert rows["workers"] == "bad" and "No worker answered" in page


def test_a_failing_app_check_is_a_red_row_not_a_500():
    import types

    broken = types.SimpleNamespace(__name__="broken.ops", checks=lambda: 1 / 0)
    checks = ops._app_checks(broken)
    assert [(c.name, c.ok) for c in checks] == [("broken.ops", False)]
    assert "ZeroDivisionError" in checks[0].detail
