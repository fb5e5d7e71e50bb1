"""Bill runs through the services: start (period, idempotent, errors), chunk processing
(claims, leases, an item failing alone and its retry), issue (all / some, gapless numbers),
cancel, progress. Tasks run inline here (eager); real workers are in
tests/integration/test_bill_run_worker.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from billing import services
from billing.models import (
    BillRun,
    BillRunChunk,
    BillRunItem,
    ChunkStatus,
    Invoice,
    InvoiceStatement,
    InvoiceStatus,
    ItemStatus,
)
from billing.selectors.runs import bill_run_progress
from billing.services import runs
from billspree.core.errors import Conflict
from billspree.core.models import AuditEvent
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


def make_batch(n: int, *, name: str = "Monthly", readings: bool = True, **options):
    houses = [make_house(tenant_email=f"t{i}@example.com") for i in range(n)]
    if readings:
        for h in houses:
            read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    batch = services.batch_create(name=name, **options)
    services.batch_subscriptions_set(batch=batch, add=[h.subscription for h in houses])
    return batch, houses


def start(batch, **kw) -> BillRun:
    return runs.bill_run_start(batch=batch, period_start=SEP, period_end=OCT, trigger="api", **kw)


@pytest.fixture
def org(world_a):
    with organization_context(world_a.org):
        yield world_a


def test_run_bills_every_subscription_and_waits_for_review(
    org, settings, django_capture_on_commit_callbacks
):
    settings.BILL_RUN_CHUNK_SIZE = 2
    batch, houses = make_batch(5)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(batch, actor=org.manager)
    run.refresh_from_db()
    assert run.created_now is True
    assert (run.status, run.total_items, run.started_by) == ("review", 5, org.manager)
    assert run.chunks.count() == 3 and not run.chunks.exclude(status="done").exists()
    invoices = Invoice.objects.filter(bill_run=run)
    assert sorted(i.tenant_id for i in invoices) == sorted(h.tenant.pk for h in houses)
    assert {i.status for i in invoices} == {"draft"} and all(i.lines.count() == 3
                                                             for i in invoices)
    assert set(run.items.values_list("status", "invoice_count")) == {("created", 1)}
    # one audit row per chunk, not per invoice
    assert AuditEvent.objects.filter(action="bill_run.chunk").count() == 3
    assert not AuditEvent.objects.filter(action="invoice.create_draft").exists()
    # starting again returns the same run and bills nothing more
    with django_capture_on_commit_callbacks(execute=True):
        again = start(batch)
    assert again.pk == run.pk and again.created_now is False
    assert Invoice.objects.count() == 5


def test_default_period_is_the_batch_period_in_the_organization_time_zone(
    org, django_capture_on_commit_callbacks
):
    batch, _ = make_batch(1)
    with django_capture_on_commit_callbacks(execute=False):
        run = runs.bill_run_start(batch=batch, trigger="portal")
    today = timezone.localdate(timezone=org.org.time_zone)
    assert (run.period_start, run.period_end) == services.batch_period(batch=batch, on=today)


def test_bad_starts_say_why_and_create_nothing(org):
    empty = services.batch_create(name="Empty")
    with pytest.raises(ValidationError) as exc:
        runs.bill_run_start(batch=empty, period_start=SEP, period_end=OCT, trigger="api")
    assert "No subscription of “Empty”" in exc.value.message_dict["batch"][0]
    batch, _ = make_batch(1)
    with pytest.raises(ValidationError) as exc:
        runs.bill_run_start(batch=batch, period_start=OCT, period_end=SEP, trigger="api")
    assert "period_end" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        runs.bill_run_start(batch=batch, period_start=SEP, trigger="api")
    assert "period_end" in exc.value.message_dict
    assert not BillRun.objects.exists() and not BillRunItem.objects.exists()


def test_skipped_item_reports_the_preview_diagnostics(org, django_capture_on_commit_callbacks):
    batch, houses = make_batch(2, readings=False)
    read(houses[0].meter, (at(SEP), "1100"), (at(OCT), "1400"))
    with django_capture_on_commit_callbacks(execute=True):
        run = start(batch)
    run.refresh_from_db()
    assert run.status == "review"
    skipped = run.items.get(status="skipped")
    assert skipped.subscription_id == houses[1].subscription.pk
    assert "no_readings" in {d["code"] for d in skipped.diagnostics}
    assert bill_run_progress(run)["skipped"] == 1


def _refuse_invoices_of(bp) -> None:
    with connection.cursor() as cur:
        cur.execute(f"""
            CREATE FUNCTION test_refuse() RETURNS trigger AS $$ BEGIN
              IF NEW.billing_point_id = {int(bp.pk)} THEN
                RAISE EXCEPTION 'the printer is on fire';
              END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_refuse BEFORE INSERT ON billing_invoice
              FOR EACH ROW EXECUTE FUNCTION test_refuse();""")


def _allow_invoices() -> None:
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER test_refuse ON billing_invoice; DROP FUNCTION test_refuse();")


def test_an_item_fails_alone_and_its_retry_bills_it(org, django_capture_on_commit_callbacks):
    batch, houses = make_batch(3)
    _refuse_invoices_of(houses[1].bp)  # any unexpected error while writing one invoice
    with django_capture_on_commit_callbacks(execute=True):
        run = start(batch)
    run.refresh_from_db()
    assert run.status == "failed"
    failed = run.items.get(status="failed")
    assert failed.subscription_id == houses[1].subscription.pk
    assert "the printer is on fire" in failed.error
    assert run.items.filter(status="created").count() == 2
    assert Invoice.objects.filter(bill_run=run).count() == 2
    with pytest.raises(Conflict):
        runs.bill_run_item_retry(item=run.items.get(subscription=houses[0].subscription))
    _allow_invoices()
    item = runs.bill_run_item_retry(item=failed, actor=org.manager)
    assert (item.status, item.invoice_count, item.error, item.attempts) == ("created", 1, "", 2)
    run.refresh_from_db()
    assert run.status == "review"
    assert Invoice.objects.filter(bill_run=run).count() == 3


def test_one_worker_claims_a_chunk_and_an_expired_lease_is_reclaimed(
    org, django_capture_on_commit_callbacks
):
    batch, _ = make_batch(2)
    with django_capture_on_commit_callbacks(execute=False):  # no worker picks it up
        run = start(batch)
    chunk = run.chunks.get()
    # a worker holds it with a live lease: nobody else may process it
    BillRunChunk.objects.filter(pk=chunk.pk).update(
        status="running", attempts=1, lease_until=timezone.now() + timedelta(minutes=5))
    assert runs.bill_run_process_chunk(chunk_id=chunk.pk, worker="w2") is False
    assert not Invoice.objects.exists()
    assert runs.bill_run_resume(run=run) == 0
    # the worker died: its lease runs out, resume re-dispatches, the next claim redoes it
    BillRunChunk.objects.filter(pk=chunk.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert runs.bill_run_resume(run=run) == 1
    assert len(queued) == 1
    assert runs.bill_run_process_chunk(chunk_id=chunk.pk, worker="w3") is True
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts, chunk.worker) == ("done", 2, "w3")
    assert runs.bill_run_process_chunk(chunk_id=chunk.pk, worker="w4") is False
    assert Invoice.objects.filter(bill_run=run).count() == 2


def test_issue_some_then_all_with_gapless_ordered_numbers(
    org, django_capture_on_commit_callbacks
):
    batch, houses = make_batch(4, send_statements=False)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(batch)
    drafts = list(Invoice.objects.filter(bill_run=run).order_by("pk"))
    other = make_house()
    read(other.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    [stranger] = services.invoice_create_draft(subscriptions=[other.subscription], start=SEP,
                                               end=OCT)
    with pytest.raises(ValidationError) as exc:
        runs.bill_run_issue(run=run, invoices=[drafts[0], stranger])
    assert "invoices" in exc.value.message_dict
    with django_capture_on_commit_callbacks(execute=False):
        some = runs.bill_run_issue(run=run, invoices=[drafts[3], drafts[1]], actor=org.manager)
    assert [i.number for i in some] == ["INV-000001", "INV-000002"]
    run.refresh_from_db()
    assert run.status == "review"
    with django_capture_on_commit_callbacks(execute=False):
        rest = runs.bill_run_issue(run=run)
    assert [i.number for i in rest] == ["INV-000003", "INV-000004"]
    run.refresh_from_db()
    assert run.status == "completed"
    issued = Invoice.objects.filter(bill_run=run)
    assert {i.status for i in issued} == {"issued"} and all(i.issued_at for i in issued)
    for group in (some, rest):  # each issue numbers in property / billing point order
        names = [(i.billing_point.property.name, i.billing_point.name) for i in group]
        assert names == sorted(names)
    assert InvoiceStatement.objects.filter(invoice__bill_run=run).count() == 4
    with pytest.raises(Conflict):
        runs.bill_run_cancel(run=run)


def test_auto_issue_run_ends_completed(org, django_capture_on_commit_callbacks):
    batch, _ = make_batch(2, auto_issue=True)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(batch)
    run.refresh_from_db()
    assert run.status == "completed"
    assert sorted(Invoice.objects.filter(bill_run=run).values_list("number", flat=True)) == [
        "INV-000001", "INV-000002"]


def test_cancel_voids_drafts_and_a_new_run_bills_the_period_again(
    org, django_capture_on_commit_callbacks
):
    batch, _ = make_batch(2)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(batch)
    cancelled = runs.bill_run_cancel(run=run, actor=org.manager)
    assert cancelled.status == "cancelled"
    assert set(Invoice.objects.filter(bill_run=run).values_list("status", flat=True)) == {
        InvoiceStatus.VOID}
    with pytest.raises(Conflict):
        runs.bill_run_issue(run=run)
    with django_capture_on_commit_callbacks(execute=True):
        second = start(batch)
    assert second.pk != run.pk and second.created_now
    second.refresh_from_db()
    assert second.status == "review"
    assert Invoice.objects.filter(bill_run=second, status="draft").count() == 2


def test_a_chunk_of_a_cancelled_run_bills_nothing(org, django_capture_on_commit_callbacks):
    batch, _ = make_batch(1)
    with django_capture_on_commit_callbacks(execute=False):
        run = start(batch)
    chunk = run.chunks.get()
    runs.bill_run_cancel(run=run)
    assert runs.bill_run_process_chunk(chunk_id=chunk.pk) is False
    assert not Invoice.objects.exists()


def test_progress_in_two_queries(org, django_capture_on_commit_callbacks,
                                 django_assert_num_queries):
    batch, _ = make_batch(3)
    with django_capture_on_commit_callbacks(execute=False):
        run = start(batch)
    with django_assert_num_queries(2):
        p = bill_run_progress(run)
    assert p == {"total": 3, "done": 0, "created": 0, "skipped": 0, "failed": 0, "pending": 3,
                 "invoices": 0, "percent": 0, "status": "queued", "chunks_done": 0,
                 "chunks_total": 1}
    runs.bill_run_process_chunk(chunk_id=run.chunks.get().pk)
    run.refresh_from_db()
    p = bill_run_progress(run)
    assert (p["done"], p["created"], p["invoices"], p["percent"], p["status"]) == (
        3, 3, 3, 100, "review")


def test_item_rows_are_the_run_report(org, django_capture_on_commit_callbacks):
    batch, houses = make_batch(1)
    with django_capture_on_commit_callbacks(execute=True):
        run = start(batch)
    [item] = BillRunItem.objects.filter(run=run, status=ItemStatus.CREATED)
    assert item.subscription.billing_point == houses[0].bp
    assert item.chunk.status == ChunkStatus.DONE


def test_scheduled_task_starts_the_period_that_just_ended(org, django_capture_on_commit_callbacks):
    from billing.tasks.runs import bill_run_scheduled

    batch, _ = make_batch(1)
    with django_capture_on_commit_callbacks(execute=False):
        bill_run_scheduled.delay(batch.pk)
    run = BillRun.objects.get()
    today = timezone.localdate(timezone=org.org.time_zone)
    assert run.trigger == "schedule"
    assert (run.period_start, run.period_end) == services.batch_period(batch=batch, on=today)
    empty = services.batch_create(name="Nothing in it")
    assert bill_run_scheduled.delay(empty.pk).get() == "nothing to bill"
    assert AuditEvent.objects.filter(action="bill_run.skip").exists()


def test_sweep_resumes_a_run_whose_worker_died(org, settings, django_capture_on_commit_callbacks):
    from billing.tasks.runs import bill_runs_sweep

    settings.BILL_RUN_LEASE_SECONDS = 60
    batch, _ = make_batch(2)
    with django_capture_on_commit_callbacks(execute=False):
        run = start(batch)
    long_ago = timezone.now() - timedelta(minutes=10)
    BillRun.objects.filter(pk=run.pk).update(created_at=long_ago, status="running")
    run.chunks.update(status="running", attempts=1, lease_until=long_ago, worker="dead")
    with django_capture_on_commit_callbacks(execute=True):
        assert bill_runs_sweep.delay().get() == 1
    run.refresh_from_db()
    assert run.status == "review"
    assert run.chunks.get().attempts == 2
    assert Invoice.objects.filter(bill_run=run).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert bill_runs_sweep.delay().get() == 0  # nothing left to do


def test_a_chunk_that_killed_its_workers_too_often_fails_its_items(
    org, django_capture_on_commit_callbacks
):
    batch, _ = make_batch(2)
    with django_capture_on_commit_callbacks(execute=False):
        run = start(batch)
    chunk = run.chunks.get()
    BillRunChunk.objects.filter(pk=chunk.pk).update(
        status="running", attempts=runs.MAX_CHUNK_ATTEMPTS,
        lease_until=timezone.now() - timedelta(seconds=1))
    assert runs.bill_run_process_chunk(chunk_id=chunk.pk) is True
    run.refresh_from_db()
    assert run.status == "failed" and not Invoice.objects.exists()
    errors = set(run.items.values_list("status", "error"))
    assert len(errors) == 1 and "stopped 5 times" in errors.pop()[1]
    item = runs.bill_run_item_retry(item=run.items.first())  # alone, it bills
    assert item.status == "created"


def test_the_run_of_a_period_is_the_live_one(org, django_capture_on_commit_callbacks):
    from billing.selectors.runs import bill_run_for_period

    batch, _ = make_batch(1)
    assert bill_run_for_period(batch=batch, period_start=SEP, period_end=OCT) is None
    with django_capture_on_commit_callbacks(execute=True):
        run = start(batch)
    assert bill_run_for_period(batch=batch, period_start=SEP, period_end=OCT) == run
    # another period, or a cancelled run, is not it
    assert bill_run_for_period(batch=batch, period_start=SEP, period_end=date(2026, 9, 30)) \
        is None
    runs.bill_run_cancel(run=run)
    assert bill_run_for_period(batch=batch, period_start=SEP, period_end=OCT) is None
