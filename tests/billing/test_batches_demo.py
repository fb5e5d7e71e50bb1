"""The demo's billing batches: one scheduled monthly batch per property holding its
subscriptions, the largest with a finished run of last month waiting for review; seeding twice
changes nothing."""

from django_celery_beat.models import PeriodicTask

from billing import demo
from billing.models import BillingBatch, BillRun, BillRunItem, BillRunStatus, Invoice, Subscription
from billing.selectors.runs import bill_run_progress
from billspree.core.scoping import organization_context
from meters import demo as meters_demo
from meters.models import Property
from readings import demo as readings_demo
from tariffs import demo as tariffs_demo
from tenants import demo as tenants_demo


def test_demo_batches(world_a):
    with organization_context(world_a.org):
        for module in (meters_demo, readings_demo, tenants_demo, tariffs_demo):
            module.seed(world_a.org)
        demo.seed(world_a.org)
        batches = list(BillingBatch.objects.order_by("name"))
        assert [b.name for b in batches] == sorted(
            f"Monthly — {p.name}" for p in Property.objects.all())
        assert all(b.schedule_enabled and b.billing_day == 1 for b in batches)
        assert Subscription.objects.filter(batch__isnull=False).count() > 0
        for b in batches:
            assert set(Subscription.objects.filter(batch=b).values_list(
                "billing_point__property__name", flat=True)) <= {b.name.split(" — ")[1]}
        tasks = PeriodicTask.objects.filter(name__startswith="bill-batch-", enabled=True)
        assert tasks.count() == len(batches)
        run = BillRun.objects.get()
        assert run.status == BillRunStatus.REVIEW
        assert run.batch.subscriptions.count() == max(b.subscriptions.count() for b in batches)
        progress = bill_run_progress(run)
        assert progress["done"] == progress["total"] > 0 and progress["created"] > 0
        assert Invoice.objects.filter(bill_run=run, status="draft").exists()
        skipped = BillRunItem.objects.filter(run=run, status="skipped")
        assert all(item.diagnostics for item in skipped)
        state = list(Subscription.objects.values_list("pk", "batch_id").order_by("pk"))
        invoices = Invoice.objects.count()
        demo.seed(world_a.org)
        assert BillingBatch.objects.count() == len(batches)
        assert list(Subscription.objects.values_list("pk", "batch_id").order_by("pk")) == state
        assert (BillRun.objects.count(), Invoice.objects.count()) == (1, invoices)
