"""Portal pages of billing batches and bill runs: roles, confirmations before every write,
bad input re-rendered with field errors and nothing changed, the run page (progress
fragment that stops polling, report, review with issue-selected / issue-all), empty states."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from billing import services
from billing.models import (
    BillingBatch,
    BillRun,
    BillRunChunk,
    BillRunItem,
    BillRunStatus,
    Invoice,
    InvoiceStatus,
    ItemStatus,
    Subscription,
)
from billspree.core.scoping import organization_context
from tests.billing.builders import september_houses
from tests.conftest import login_client

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


@pytest.fixture
def houses(world_a):
    return september_houses(world_a.org)


@pytest.fixture
def batch(world_a, houses):
    with organization_context(world_a.org):
        b = services.batch_create(name="Monthly — Houses", billing_day=2)
        services.batch_subscriptions_set(batch=b, add=[h.subscription for h in houses])
    return b


def _in(world, fn):
    with organization_context(world.org):
        return fn()


# --- batches ----------------------------------------------------------------------------


def test_empty_states_explain_what_to_do(world_a):
    client = login_client(world_a.manager, world_a.org)
    page = client.get("/billing/batches/").content.decode()
    assert "No billing batches yet" in page and "New batch" in page
    assert "put billing points on a plan" in page
    runs = client.get("/billing/runs/").content.decode()
    assert "No bill runs yet" in runs and "billing batch" in runs


def test_create_batch_with_bad_input_rerenders_and_stores_nothing(world_a):
    client = login_client(world_a.manager, world_a.org)
    r = client.post("/billing/batches/new/", {"name": "M", "cycle": "monthly",
                                              "billing_day": "31", "anchor_month": "1",
                                              "schedule_time": "06:00"})
    assert r.status_code == 400
    assert 'data-field="billing_day"' in r.content.decode()
    assert not _in(world_a, lambda: BillingBatch.objects.exists())
    assert not PeriodicTask.objects.filter(name__startswith="bill-batch-").exists()


def test_create_then_edit_batch(world_a):
    client = login_client(world_a.manager, world_a.org)
    r = client.post("/billing/batches/new/", {
        "name": "Quarterly — Mall", "cycle": "quarterly", "billing_day": "5",
        "anchor_month": "2", "schedule_time": "07:30", "schedule_enabled": "on",
        "send_statements": "on"})
    assert r.status_code == 302
    b = _in(world_a, lambda: BillingBatch.objects.get())
    assert (b.cycle, b.billing_day, b.anchor_month, b.schedule_enabled) == (
        "quarterly", 5, 2, True)
    task = PeriodicTask.objects.get(name=f"bill-batch-{b.public_id}")
    assert task.enabled and task.crontab.month_of_year == "2,5,8,11"
    detail = client.get(f"/billing/batches/{b.public_id}/").content.decode()
    assert "Next run:" in detail and "07:30" in detail
    assert "No subscriptions in this batch" in detail
    edit = client.get(f"/billing/batches/{b.public_id}/edit/").content.decode()
    assert 'value="Quarterly — Mall"' in edit
    dup = _in(world_a, lambda: services.batch_create(name="Other"))
    r = client.post(f"/billing/batches/{b.public_id}/edit/", {
        "name": dup.name, "cycle": "monthly", "billing_day": "5", "anchor_month": "1",
        "schedule_time": "07:30"})
    assert r.status_code == 400 and "exists already" in r.content.decode()
    b.refresh_from_db()
    assert b.name == "Quarterly — Mall" and b.cycle == "quarterly"
    r = client.post(f"/billing/batches/{b.public_id}/edit/", {
        "name": "Monthly — Mall", "cycle": "monthly", "billing_day": "5", "anchor_month": "1",
        "schedule_time": "07:30"})
    assert r.status_code == 302
    assert not PeriodicTask.objects.get(name=f"bill-batch-{b.public_id}").enabled


def test_add_property_pick_and_remove_with_confirmation(world_a, houses):
    client = login_client(world_a.manager, world_a.org)
    b = _in(world_a, lambda: services.batch_create(name="B"))
    url = f"/billing/batches/{b.public_id}/subscriptions/"
    r = client.post(url, {})
    assert r.status_code == 400 and "Choose a property" in r.content.decode()
    client.post(url, {"property": str(houses[0].prop.public_id)})
    client.post(url, {"add": [str(houses[1].subscription.public_id)]})
    assert _in(world_a, lambda: Subscription.objects.filter(batch=b).count()) == 2
    detail = client.get(f"/billing/batches/{b.public_id}/").content.decode()
    assert houses[0].bp.name in detail and houses[1].bp.name in detail
    sub = str(houses[0].subscription.public_id)
    confirm = client.post(url, {"remove": [sub]})
    assert confirm.status_code == 200 and "Remove 1 subscription" in confirm.content.decode()
    assert _in(world_a, lambda: Subscription.objects.filter(batch=b).count()) == 2
    client.post(url, {"remove": [sub], "confirm": "1"})
    assert _in(world_a, lambda: list(Subscription.objects.filter(batch=b))) == [
        houses[1].subscription]


def test_delete_batch_confirmed_and_refused_with_runs(world_a, batch):
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing/batches/{batch.public_id}/delete/").content.decode()
    assert "2 subscription(s) are kept" in page
    _in(world_a, lambda: BillRun.objects.create(batch=batch, period_start=SEP, period_end=OCT))
    page = client.get(f"/billing/batches/{batch.public_id}/delete/").content.decode()
    assert "cannot be deleted" in page
    r = client.post(f"/billing/batches/{batch.public_id}/delete/", follow=True)
    assert "has bill runs" in r.content.decode()
    assert _in(world_a, lambda: BillingBatch.objects.filter(pk=batch.pk).exists())
    _in(world_a, lambda: BillRun.objects.all().delete())
    r = client.post(f"/billing/batches/{batch.public_id}/delete/")
    assert r.status_code == 302
    assert not _in(world_a, lambda: BillingBatch.objects.exists())
    assert _in(world_a, lambda: Subscription.objects.filter(batch__isnull=True).count()) == 2


def test_viewer_reads_but_cannot_write(world_a, batch):
    viewer = login_client(world_a.viewer, world_a.org)
    page = viewer.get(f"/billing/batches/{batch.public_id}/").content.decode()
    assert "Monthly — Houses" in page and "Start run" not in page and "Remove selected" not in page
    assert viewer.get("/billing/batches/").status_code == 200
    for url, data in [
        ("/billing/batches/new/", {"name": "X", "cycle": "monthly", "billing_day": "1",
                                   "anchor_month": "1", "schedule_time": "06:00"}),
        (f"/billing/batches/{batch.public_id}/start/", {"period_start": "2026-09-01",
                                                        "period_end": "2026-10-01",
                                                        "confirm": "1"}),
        (f"/billing/batches/{batch.public_id}/delete/", {}),
        (f"/billing/batches/{batch.public_id}/subscriptions/", {"remove": [
            str(s) for s in _in(world_a, lambda: list(Subscription.objects.values_list(
                "public_id", flat=True)))], "confirm": "1"}),
    ]:
        assert viewer.post(url, data).status_code == 403
    assert _in(world_a, lambda: BillingBatch.objects.count()) == 1
    assert _in(world_a, lambda: Subscription.objects.filter(batch=batch).count()) == 2
    assert not _in(world_a, lambda: BillRun.objects.exists())


# --- starting a run -------------------------------------------------------------------------


def test_start_form_defaults_to_last_period_and_confirms_the_count(world_a, batch):
    client = login_client(world_a.manager, world_a.org)
    form = client.get(f"/billing/batches/{batch.public_id}/start/").content.decode()
    today = timezone.localdate(timezone=world_a.org.time_zone)
    end = today.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    assert f'value="{start:%Y-%m-%d}"' in form and f'value="{end:%Y-%m-%d}"' in form
    r = client.post(f"/billing/batches/{batch.public_id}/start/",
                    {"period_start": "2026-09-01", "period_end": "2026-10-01"})
    page = r.content.decode()
    assert r.status_code == 200 and "Bill 2 subscriptions?" in page
    assert 'name="confirm" value="1"' in page
    assert not _in(world_a, lambda: BillRun.objects.exists())


@pytest.mark.parametrize("data, error", [
    ({"period_start": "2026-10-01", "period_end": "2026-09-01"}, "The end must be after"),
    ({"period_start": "2026-09-01", "period_end": "soon"}, "Enter a valid date"),
    ({"period_start": "2020-01-01", "period_end": "2020-02-01", "confirm": "1"},
     "No subscription of"),
])
def test_start_with_bad_input_rerenders_and_starts_nothing(world_a, batch, data, error):
    client = login_client(world_a.manager, world_a.org)
    r = client.post(f"/billing/batches/{batch.public_id}/start/", data)
    assert r.status_code == 400 and error in r.content.decode()
    assert not _in(world_a, lambda: BillRun.objects.exists())


# --- the run page (rows written directly; the run engine is tested on its own) ---------------


def _finished_run(world, batch, houses) -> BillRun:
    def make():
        run = BillRun.objects.create(batch=batch, period_start=SEP, period_end=OCT,
                                     status=BillRunStatus.REVIEW, total_items=2,
                                     finished_at=timezone.now())
        chunk = BillRunChunk.objects.create(run=run, number=1, status="done")
        drafts = services.invoice_create_draft(subscriptions=[houses[0].subscription],
                                               start=SEP, end=OCT)
        Invoice.objects.filter(pk__in=[d.pk for d in drafts]).update(bill_run=run)
        BillRunItem.objects.create(run=run, chunk=chunk, subscription=houses[0].subscription,
                                   status=ItemStatus.CREATED, invoice_count=1, diagnostics=[
                                       {"code": "tenant_without_email", "severity": "warning",
                                        "message": "Check the reading of flat one"}])
        BillRunItem.objects.create(run=run, chunk=chunk, subscription=houses[1].subscription,
                                   status=ItemStatus.FAILED, error="Traceback: boom",
                                   attempts=2)
        return run
    return _in(world, make)


def test_run_page_shows_progress_report_and_review(world_a, batch, houses):
    run = _finished_run(world_a, batch, houses)
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing/runs/{run.public_id}/").content.decode()
    assert 'data-testid="run-progress"' in page and 'hx-trigger' not in page
    assert "Review: 1 draft to issue" in page and "95.08" in page
    assert "Check the reading of flat one" in page
    assert "Traceback: boom" in page and "Retry…" in page  # failures shown first
    skipped = client.get(f"/billing/runs/{run.public_id}/?show=skipped").content.decode()
    assert "Nothing was skipped" in skipped
    frag = client.get(f"/billing/runs/{run.public_id}/progress/", HTTP_HX_REQUEST="true",
                      data={"was": "live"})
    assert frag.status_code == 200 and frag["HX-Refresh"] == "true"
    assert 'hx-trigger' not in frag.content.decode()
    listing = client.get("/billing/runs/?status=review").content.decode()
    assert "Monthly — Houses" in listing
    assert "Monthly — Houses" not in client.get("/billing/runs/?status=completed").content.decode()
    batches = client.get("/billing/batches/").content.decode()
    assert "Waiting for review" in batches
    dash = client.get("/").content.decode()
    assert "Runs awaiting review" in dash and "Drafts to check and issue" in dash


def test_live_run_polls_every_two_seconds(world_a, batch, houses):
    run = _in(world_a, lambda: BillRun.objects.create(
        batch=batch, period_start=SEP, period_end=OCT, status=BillRunStatus.RUNNING,
        total_items=2))
    client = login_client(world_a.viewer, world_a.org)
    page = client.get(f"/billing/runs/{run.public_id}/").content.decode()
    assert 'hx-trigger="every 2s"' in page and f"/billing/runs/{run.public_id}/progress/" in page
    frag = client.get(f"/billing/runs/{run.public_id}/progress/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in frag.content.decode() and "HX-Refresh" not in frag
    assert "Bill run in progress" in client.get("/").content.decode()


def test_issue_needs_a_choice_and_a_confirmation(world_a, batch, houses):
    run = _finished_run(world_a, batch, houses)
    client = login_client(world_a.manager, world_a.org)
    url = f"/billing/runs/{run.public_id}/issue/"
    r = client.post(url, {})
    assert r.status_code == 400 and "Pick the drafts to issue" in r.content.decode()
    r = client.post(url, {"invoices": [str(uuid) for uuid in [houses[1].subscription.public_id]]})
    assert r.status_code == 400  # not a draft of this run
    draft = _in(world_a, lambda: Invoice.objects.get(bill_run=run))
    r = client.post(url, {"invoices": [str(draft.public_id)]})
    page = r.content.decode()
    assert r.status_code == 200 and "Issue 1 invoice?" in page and "95.08 EUR" in page
    r = client.post(url, {"all": "1"})
    assert "Issue 1 invoice?" in r.content.decode()
    assert _in(world_a, lambda: Invoice.objects.get(pk=draft.pk).status) == InvoiceStatus.DRAFT


def test_confirmation_pages_for_cancel_and_retry(world_a, batch, houses):
    run = _finished_run(world_a, batch, houses)
    client = login_client(world_a.manager, world_a.org)
    cancel = client.get(f"/billing/runs/{run.public_id}/cancel/").content.decode()
    assert "Cancel this bill run?" in cancel and "1</strong> draft invoice is voided" in cancel
    item = _in(world_a, lambda: BillRunItem.objects.get(status=ItemStatus.FAILED))
    retry = client.get(f"/billing/run-items/{item.public_id}/retry/").content.decode()
    assert "Traceback: boom" in retry and "Nothing is billed twice" in retry
    resume = client.get(f"/billing/runs/{run.public_id}/resume/").content.decode()
    assert "Resume this bill run?" in resume and "nobody is billed twice" in resume
    r = client.post(f"/billing/runs/{run.public_id}/resume/", follow=True)
    assert "nothing to resume" in r.content.decode()
    assert _in(world_a, lambda: BillRun.objects.get(pk=run.pk).status) == BillRunStatus.REVIEW


def test_subscription_form_has_the_batch_choice(world_a, batch, houses):
    client = login_client(world_a.manager, world_a.org)
    sub = houses[0].subscription
    form = client.get(f"/billing/subscriptions/{sub.public_id}/edit/").content.decode()
    assert f'<option value="{batch.public_id}" selected>' in form
    r = client.post(f"/billing/subscriptions/{sub.public_id}/edit/", {
        "plan": str(houses[0].plan.public_id), "start_date": "2026-08-01", "batch": ""})
    assert r.status_code == 302
    assert _in(world_a, lambda: Subscription.objects.get(pk=sub.pk).batch) is None


def test_totals_are_decimal_sums(world_a, batch, houses):
    run = _finished_run(world_a, batch, houses)
    from billing.selectors.totals import currency_totals

    totals = _in(world_a, lambda: currency_totals(Invoice.objects.filter(bill_run=run)))
    assert totals == [("EUR", Decimal("95.0800"))]


def test_list_pages_do_not_grow_queries_with_rows(world_a, houses):
    client = login_client(world_a.manager, world_a.org)

    def count(url: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    def add_batches(first: int, n: int) -> None:
        with organization_context(world_a.org):
            for i in range(first, first + n):
                b = services.batch_create(name=f"B{i}")
                BillRun.objects.create(batch=b, period_start=SEP, period_end=OCT)

    add_batches(0, 2)
    few = {url: count(url) for url in ("/billing/batches/", "/billing/runs/")}
    add_batches(2, 8)
    for url, n in few.items():
        assert count(url) == n, url


# --- through the run services (Celery runs eagerly in tests) ------------------------------


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """POST the confirmed start; the run's chunks are queued on commit (run eagerly)."""
    def go(client, batch) -> BillRun:
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(f"/billing/batches/{batch.public_id}/start/", {
                "period_start": "2026-09-01", "period_end": "2026-10-01", "confirm": "1"})
        assert r.status_code == 302
        return BillRun.objects.unscoped().get(batch=batch, period_start=SEP)
    return go


def test_start_confirmed_runs_and_starting_again_opens_the_same_run(world_a, batch, start):
    client = login_client(world_a.manager, world_a.org)
    run = start(client, batch)
    assert run.status == BillRunStatus.REVIEW and run.started_by == world_a.manager
    assert _in(world_a, lambda: Invoice.objects.filter(bill_run=run).count()) == 2
    page = client.get(f"/billing/runs/{run.public_id}/").content.decode()
    assert "Review: 2 drafts to issue" in page and "190.16" in page
    confirm = client.post(f"/billing/batches/{batch.public_id}/start/",
                          {"period_start": "2026-09-01", "period_end": "2026-10-01"})
    assert "A run of this period exists already" in confirm.content.decode()
    r = client.post(f"/billing/batches/{batch.public_id}/start/",
                    {"period_start": "2026-09-01", "period_end": "2026-10-01", "confirm": "1"},
                    follow=True)
    assert "exists already: here it is" in r.content.decode()
    assert _in(world_a, lambda: (BillRun.objects.count(), Invoice.objects.count())) == (1, 2)


def test_issue_selected_then_all(world_a, batch, houses, start):
    client = login_client(world_a.manager, world_a.org)
    run = start(client, batch)
    first = _in(world_a, lambda: Invoice.objects.filter(bill_run=run).order_by("pk").first())
    url = f"/billing/runs/{run.public_id}/issue/"
    r = client.post(url, {"invoices": [str(first.public_id)], "confirm": "1"}, follow=True)
    assert "Issued 1 invoice(s)." in r.content.decode()
    statuses = _in(world_a, lambda: sorted(Invoice.objects.filter(bill_run=run)
                                           .values_list("status", flat=True)))
    assert statuses == ["draft", "issued"]
    r = client.post(url, {"all": "1", "confirm": "1"}, follow=True)
    page = r.content.decode()
    assert "Issued 1 invoice(s)." in page and "Issued: 2 invoices" in page
    assert _in(world_a, lambda: BillRun.objects.get(pk=run.pk).status) == BillRunStatus.COMPLETED
    assert "Cancel run…" not in page


def test_cancel_confirmed_voids_the_drafts(world_a, batch, start):
    client = login_client(world_a.manager, world_a.org)
    run = start(client, batch)
    r = client.post(f"/billing/runs/{run.public_id}/cancel/", follow=True)
    assert "Bill run cancelled" in r.content.decode()
    assert _in(world_a, lambda: set(Invoice.objects.filter(bill_run=run)
                                    .values_list("status", flat=True))) == {"void"}
    assert _in(world_a, lambda: BillRun.objects.get(pk=run.pk).status) == BillRunStatus.CANCELLED


def test_skipped_items_show_the_preview_reasons_and_failed_ones_retry(world_a, batch, houses,
                                                                      start):
    with organization_context(world_a.org):  # invoiced by hand already: the run skips it
        services.invoice_create_draft(subscriptions=[houses[1].subscription], start=SEP, end=OCT)
    client = login_client(world_a.manager, world_a.org)
    run = start(client, batch)
    item = _in(world_a, lambda: BillRunItem.objects.get(run=run,
                                                        subscription=houses[1].subscription))
    assert item.status == ItemStatus.SKIPPED and item.diagnostics
    page = client.get(f"/billing/runs/{run.public_id}/?show=skipped").content.decode()
    assert houses[1].bp.name in page and "already" in page
    reason = item.diagnostics[0]["message"]
    assert reason.replace("’", "&#x27;") in page or reason in page
    # a failed item (as an unexpected error leaves it) is retried alone, after a confirmation
    _in(world_a, lambda: BillRunItem.objects.filter(pk=item.pk).update(
        status=ItemStatus.FAILED, error="boom"))
    page = client.get(f"/billing/runs/{run.public_id}/?show=failed").content.decode()
    assert "boom" in page and f"/billing/run-items/{item.public_id}/retry/" in page
    r = client.post(f"/billing/run-items/{item.public_id}/retry/", follow=True)
    assert r.status_code == 200 and "Retried" in r.content.decode()
    item.refresh_from_db()
    assert item.status == ItemStatus.SKIPPED
    assert _in(world_a, lambda: Invoice.objects.filter(
        subscription=houses[1].subscription).count()) == 1


def test_other_organizations_rows_are_not_choices(populated, world_a, world_b):
    client = login_client(world_a.manager, world_a.org)
    mine, theirs = world_a.objects["batch"], world_b.objects["batch"]
    sub_b = world_b.objects["subscription"]
    r = client.post(f"/billing/batches/{mine.public_id}/subscriptions/",
                    {"add": [str(sub_b.public_id)]})
    assert r.status_code == 400 and "Select a valid choice" in r.content.decode()
    r = client.post(f"/billing/batches/{mine.public_id}/subscriptions/",
                    {"property": str(world_b.objects["property"].public_id)})
    assert r.status_code == 400
    sub_a = world_a.objects["subscription"]
    r = client.post(f"/billing/subscriptions/{sub_a.public_id}/edit/", {
        "plan": str(world_a.objects["plan"].public_id), "start_date": "2025-01-01",
        "batch": str(theirs.public_id)})
    assert r.status_code == 400 and 'data-field="batch"' in r.content.decode()
    assert Subscription.objects.unscoped().get(pk=sub_b.pk).batch_id == theirs.pk
    assert Subscription.objects.unscoped().get(pk=sub_a.pk).batch_id == mine.pk
