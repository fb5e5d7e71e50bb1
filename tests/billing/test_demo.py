"""The demo billing: subscriptions for the demo billing points, issued invoices for last
month, and idempotent."""

from billing import demo
from billing.models import Invoice, Subscription
from billspree.core.scoping import organization_context
from meters import demo as meters_demo
from readings import demo as readings_demo
from tariffs import demo as tariffs_demo
from tenants import demo as tenants_demo


def test_demo_seed_is_idempotent(world_a):
    with organization_context(world_a.org):
        for module in (meters_demo, readings_demo, tenants_demo, tariffs_demo):
            module.seed(world_a.org)
        demo.seed(world_a.org)
        subs, invoices = Subscription.objects.count(), Invoice.objects.count()
        assert subs > 0
        assert Invoice.objects.filter(status="issued").count() == 2
        issued = Invoice.objects.filter(status="issued")
        assert all(inv.number.startswith("INV-") for inv in issued)
        demo.seed(world_a.org)
        assert (Subscription.objects.count(), Invoice.objects.count()) == (subs, invoices)
