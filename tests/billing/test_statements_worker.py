"""A real Celery worker (real Redis broker) renders the statement after issue and emails
it on request: the on_commit → task → service path, not the eager shortcut."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from billing import services
from billing.models import DeliveryStatus, InvoiceStatement, StatementDelivery, StatementStatus
from billspree.celery import app
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.billing.factories_statements import OCT, SEP
from tests.billing.test_statements import private_storage  # noqa: F401
from tests.conftest import redis_up, require_service
from tests.factories import make_org_world

pytestmark = pytest.mark.redis


def _wait(check, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_worker_generates_after_issue_and_sends(transactional_db):
    require_service(redis_up(), "Redis (set REDIS_URL)")
    world = make_org_world("Statement Worker Estates", "STMTWORKER")
    with organization_context(world.org):
        h = make_house()
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        [draft] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                                end=OCT)
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30), \
            organization_context(world.org):
        inv = services.invoice_issue(invoice=draft)  # commits: on_commit queues the task
        statement = InvoiceStatement.objects.get(invoice=inv)
        assert _wait(lambda: statement.refresh_from_db() or
                     statement.status == StatementStatus.READY), statement.status
        delivery = services.invoice_statement_send(invoice=inv)
        assert _wait(lambda: delivery.refresh_from_db() or
                     delivery.status != DeliveryStatus.QUEUED)
    assert delivery.status == DeliveryStatus.SENT, delivery.error
    assert [m.to for m in mail.outbox] == [["tenant@example.com"]]
    assert mail.outbox[0].attachments[0][1][:5] == b"%PDF-"
    with organization_context(world.org):
        assert StatementDelivery.objects.count() == 1
