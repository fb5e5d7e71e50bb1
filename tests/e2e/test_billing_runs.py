"""Billing batches and bill runs in a real browser: a manager creates a batch, adds a
property's subscriptions and a picked one, starts a run (period → confirmation with the
count), watches the progress reach 100 %, reviews the drafts and issues them all after a
confirmation with the count and sum. A second test proves the run page polls while a run
is live and shows the report by itself once it has finished."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing import services
from billing.models import (
    BillRun,
    BillRunChunk,
    BillRunItem,
    BillRunStatus,
    Invoice,
    InvoiceStatus,
    ItemStatus,
)
from billspree.core.scoping import organization_context
from tests.billing.builders import september_houses
from tests.e2e.conftest import portal_login

pytestmark = pytest.mark.e2e

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


@pytest.fixture
def houses(world_a):
    return september_houses(world_a.org)


def test_batch_run_review_issue(page, world_a, houses):
    portal_login(page, world_a.manager.email)
    page.goto("/billing/")
    page.get_by_role("link", name="Batches & runs").click()
    expect(page.get_by_role("heading", name="No billing batches yet")).to_be_visible()
    page.get_by_role("link", name="New batch").first.click()
    page.get_by_label("Name").fill("Monthly — Houses")
    page.get_by_label("Cycle").select_option("monthly")
    page.get_by_label("Billing day").fill("2")
    page.get_by_label("Run on schedule").check()
    page.get_by_role("button", name="Save batch").click()
    expect(page.get_by_role("heading", name="Monthly — Houses")).to_be_visible()
    expect(page.get_by_test_id("batch-schedule")).to_contain_text("Next run:")
    expect(page.get_by_role("heading", name="No subscriptions in this batch yet")).to_be_visible()

    # a whole property at once, then a picked subscription
    page.get_by_label("Add a property's subscriptions").select_option(label=houses[0].prop.name)
    page.get_by_role("button", name="Add to batch").click()
    expect(page.locator(".flash")).to_contain_text("Added 1 subscription(s)")
    page.get_by_label("…or pick subscriptions").select_option(
        value=str(houses[1].subscription.public_id))
    page.get_by_role("button", name="Add to batch").click()
    table = page.locator(".batch-subscriptions table")
    expect(table).to_contain_text(houses[0].bp.name)
    expect(table).to_contain_text(houses[1].bp.name)

    # start a run: period, then a confirmation with the number of subscriptions
    page.get_by_role("link", name="Start run…").first.click()
    page.get_by_label("Period start").fill("2026-09-01")
    page.get_by_label("Period end").fill("2026-10-01")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Bill 2 subscriptions?")).to_be_visible()
    expect(page.get_by_test_id("run-start-summary")).to_contain_text("1–30 Sep 2026")
    page.get_by_role("button", name="Start run").click()

    # progress (Celery runs eagerly here: the run is done when the page shows)
    expect(page.get_by_role("heading", name="Bill run: Monthly — Houses")).to_be_visible()
    progress = page.get_by_test_id("run-progress")
    expect(progress).to_be_visible()
    expect(page.get_by_test_id("run-percent")).to_have_text("100")
    expect(page.get_by_test_id("run-done")).to_have_text("2")
    expect(page.get_by_test_id("run-total")).to_have_text("2")
    expect(page.get_by_test_id("run-created")).to_have_text("2")
    expect(page.get_by_test_id("run-failed")).to_have_text("0")
    expect(progress).not_to_have_attribute("hx-trigger", "every 2s")

    # review: both drafts, issue all after a confirmation with count and sum
    review = page.get_by_test_id("run-review")
    expect(review).to_contain_text("Review: 2 drafts to issue")
    expect(review).to_contain_text(houses[0].tenant.name)
    expect(review).to_contain_text("190.16 EUR")
    page.get_by_role("button", name="Issue all 2…").click()
    expect(page.get_by_role("heading", name="Issue 2 invoices?")).to_be_visible()
    expect(page.get_by_test_id("issue-summary")).to_contain_text("190.16 EUR")
    page.get_by_role("button", name="Issue 2 invoices").click()

    expect(page.locator(".flash")).to_contain_text("Issued 2 invoice(s).")
    issued = page.get_by_test_id("run-issued")
    expect(issued).to_contain_text("Issued: 2 invoices")
    expect(issued).to_contain_text("INV-000001")
    expect(issued).to_contain_text("INV-000002")
    expect(issued).to_contain_text("190.16 EUR")
    expect(page.get_by_test_id("run-review")).to_have_count(0)
    with organization_context(world_a.org):
        run = BillRun.objects.get()
        assert run.status == BillRunStatus.COMPLETED
        assert Invoice.objects.filter(bill_run=run, status=InvoiceStatus.ISSUED).count() == 2

    # the runs list and the batch list show it
    page.get_by_role("link", name="Batches & runs").click()
    expect(page.locator(".batch-table")).to_contain_text("Completed")
    page.get_by_role("link", name="All bill runs").click()
    expect(page.locator("table")).to_contain_text("Monthly — Houses")
    expect(page.locator("table")).to_contain_text("Completed")


def test_run_page_polls_until_the_run_finishes(page, world_a, houses):
    with organization_context(world_a.org):
        batch = services.batch_create(name="Polled")
        services.batch_subscriptions_set(batch=batch, add=[h.subscription for h in houses])
        run = BillRun.objects.create(batch=batch, period_start=SEP, period_end=OCT,
                                     status=BillRunStatus.RUNNING, total_items=2,
                                     started_at=timezone.now())
        chunk = BillRunChunk.objects.create(run=run, number=1)
        items = [BillRunItem.objects.create(run=run, chunk=chunk, subscription=h.subscription)
                 for h in houses]
    portal_login(page, world_a.viewer.email)
    page.goto(f"/billing/runs/{run.public_id}/")
    progress = page.get_by_test_id("run-progress")
    expect(progress).to_have_attribute("hx-trigger", "every 2s")
    expect(page.get_by_test_id("run-done")).to_have_text("0")
    with organization_context(world_a.org):
        BillRunItem.objects.filter(pk=items[0].pk).update(status=ItemStatus.SKIPPED, diagnostics=[
            {"code": "no_readings", "severity": "error", "message": "No readings near the end"}])
    expect(page.get_by_test_id("run-done")).to_have_text("1", timeout=10_000)
    expect(page.get_by_test_id("run-percent")).to_have_text("50")
    with organization_context(world_a.org):
        BillRunItem.objects.filter(pk=items[1].pk).update(status=ItemStatus.FAILED,
                                                          error="Division by zero")
        BillRunChunk.objects.filter(pk=chunk.pk).update(status="done")
        BillRun.objects.filter(pk=run.pk).update(status=BillRunStatus.FAILED,
                                                 finished_at=timezone.now())
    # the finished fragment stops polling and the page reloads with the report
    report = page.get_by_test_id("run-report")
    expect(report).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("run-status")).to_have_text("Finished with failures")
    expect(report).to_contain_text("Division by zero")
    expect(page.get_by_test_id("run-progress")).not_to_have_attribute("hx-trigger", "every 2s")
    page.get_by_role("link", name="Skipped (1)").click()
    expect(page.get_by_test_id("run-report")).to_contain_text("No readings near the end")
