"""Real transactions: concurrent deliveries, progress seen during an import, partitions ahead."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction

from billspree.core.scoping import organization_context
from readings import tasks
from readings.models import Reading, Upload
from readings.partitions import existing_partitions
from readings.progress import ProgressWriter
from tests.readings.helpers import ingest, make_meter

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_deliveries_of_the_same_readings_store_each_once(world_a):
    with organization_context(world_a.org):
        make_meter("C-1", connected_at=datetime(2025, 1, 1, tzinfo=UTC))
    start = datetime(2025, 2, 1, tzinfo=UTC)
    items = [("C-1", (start + timedelta(hours=h)).isoformat(), str(h)) for h in range(200)]
    outcomes, failures = [], []

    def deliver():
        try:
            with organization_context(world_a.org):
                outcomes.append(ingest(*items))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures
    created = sorted(o.counts["created"] for o in outcomes)
    assert created == [0, 200]
    assert sorted(o.counts["unchanged"] for o in outcomes) == [0, 200]
    assert Reading.objects.unscoped().count() == 200


def test_progress_is_visible_during_the_import_and_never_blocks(world_a):
    with organization_context(world_a.org):
        upload = Upload.objects.create(source="upload", status="processing", rows_total=10)
    with transaction.atomic(), ProgressWriter(upload.pk) as progress:
        progress.update(4, force=True)
        assert Upload.objects.unscoped().get(pk=upload.pk).rows_done == 4  # committed aside
        Upload.objects.unscoped().filter(pk=upload.pk).update(rows_total=11)  # row now locked
        began = time.monotonic()
        progress.update(8, force=True)
        assert time.monotonic() - began < 5  # gave up instead of waiting for us
    assert Upload.objects.unscoped().get(pk=upload.pk).rows_done == 4


def test_scheduled_task_creates_partitions_ahead():
    created = tasks.partitions_ahead()
    now = datetime.now(UTC)
    months = existing_partitions()
    # this month and the next three calendar months (not "95 days": on 31 January that
    # is 6 May, a month further than the task promises)
    for ahead in range(4):
        year, month = divmod(now.year * 12 + now.month - 1 + ahead, 12)
        assert (year, month + 1) in months
    assert tasks.partitions_ahead() == []  # idempotent
    assert all(name.startswith("readings_reading_p") for name in created)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relname = %s",
            ["readings_reading_p" + now.strftime("%Y%m")],
        )
        assert cursor.fetchone()[0] == 1


def test_made_up_dates_do_not_create_partitions(world_a):
    from readings.services import reading_batch_submit

    with organization_context(world_a.org):
        make_meter("C-2", connected_at=datetime(2025, 1, 1, tzinfo=UTC))
        items = [
            {"meterNumber": "C-2", "readAt": f"{year}-06-01T00:00:00Z", "value": "1"}
            for year in range(1900, 1960)
        ]
        body, _ = reading_batch_submit(items=items)
    assert body["counts"]["rejected"] == 60
    assert not {m for m in existing_partitions() if m[0] < 1960}
