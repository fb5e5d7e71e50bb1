"""Bill runs under real concurrent transactions (threads, each with its own connection):
two starts of one batch and period make one run and one set of invoices; two workers
claiming one chunk → one processes it."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection

from billing import services
from billing.models import BillRun, BillRunChunk, BillRunItem, Invoice
from billing.services import runs
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


def _batch(n: int):
    houses = [make_house() for _ in range(n)]
    for h in houses:
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    batch = services.batch_create(name="Concurrent")
    services.batch_subscriptions_set(batch=batch, add=[h.subscription for h in houses])
    return batch, houses


def _race(n: int, org, work) -> list:
    barrier = threading.Barrier(n)
    outcomes: list = []

    def go(i: int) -> None:
        try:
            with organization_context(org):
                barrier.wait()
                outcomes.append(work(i))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_starts_make_one_run_and_one_set_of_invoices(world_a, settings):
    settings.BILL_RUN_CHUNK_SIZE = 2
    with organization_context(world_a.org):
        batch, houses = _batch(3)

    def begin(i: int):
        run = runs.bill_run_start(batch=batch, period_start=SEP, period_end=OCT,
                                  trigger="api")
        return run.pk

    outcomes = _race(2, world_a.org, begin)
    assert len(outcomes) == 2 and outcomes[0] == outcomes[1], outcomes
    with organization_context(world_a.org):
        assert BillRun.objects.count() == 1
        run = BillRun.objects.get()
        assert run.status == "review" and run.items.count() == 3
        invoices = Invoice.objects.exclude(status="void")
        assert sorted(invoices.values_list("tenant_id", flat=True)) == sorted(
            h.tenant.pk for h in houses)
        assert {i.bill_run_id for i in invoices} == {run.pk}


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_one_chunk_one_processes_it(world_a):
    with organization_context(world_a.org):
        batch, houses = _batch(2)
        # a run whose chunk no worker has taken yet (rows as bill_run_start writes them)
        run = BillRun.objects.create(batch=batch, period_start=SEP, period_end=OCT,
                                     total_items=2)
        chunk = BillRunChunk.objects.create(run=run, number=1)
        for h in houses:
            BillRunItem.objects.create(run=run, chunk=chunk, subscription=h.subscription)
    outcomes = _race(
        4, world_a.org,
        lambda i: runs.bill_run_process_chunk(chunk_id=chunk.pk, worker=f"w{i}"),
    )
    assert sorted(outcomes, key=str) == [False, False, False, True], outcomes
    with organization_context(world_a.org):
        chunk = BillRunChunk.objects.get(pk=chunk.pk)
        assert (chunk.status, chunk.attempts) == ("done", 1)
        assert Invoice.objects.filter(bill_run=run).count() == 2
        assert BillRun.objects.get().status == "review"
