"""The demo billing: subscriptions for the demo billing points, issued invoices for last
month, and idempotent; the demo command's organizations print an address and payment
details on their statements."""

from io import StringIO

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


def test_demo_command_brands_statements_once(demo_db):
    """``demo_seed`` gives both demo organizations an address, payment details and terms
    that their invoice statements print; running it again duplicates nothing, fills in an
    older demo database's blank branding and keeps branding someone edited.

    The demo was seeded by ``demo_seed`` on an empty database (``tests/demo_db.py``,
    shared); the first call here is a re-run on it, which must leave it as it was."""
    from django.core.management import call_command

    from billing.selectors.statements import invoice_statement_data
    from billing.statements.render import invoice_statement_html
    from billspree.core.management.commands.demo_seed import DEMO_BRANDING
    from billspree.core.models import Organization

    call_command("demo_seed", stdout=StringIO())
    assert set(Organization.objects.values_list("name", flat=True)) == set(DEMO_BRANDING)
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.filter(is_staff=True).values_list("email", flat=True)
    assert list(staff) == ["manager@demo.billspree.test"]  # shows the System status page
    for org in Organization.objects.all():
        branding = DEMO_BRANDING[org.name]
        with organization_context(org):
            invoice = Invoice.objects.filter(status="issued").order_by("number").first()
            data = invoice_statement_data(invoice=invoice)
        assert data.organization.address == branding["address"]
        assert data.organization.payment_details == branding["payment_details"]
        assert "IBAN" in branding["payment_details"] and "fictional" in branding["payment_details"]
        assert (data.due_on - data.issued_on).days == branding["payment_terms_days"]
        html = invoice_statement_html(data)
        assert branding["address"].splitlines()[0] in html
        assert branding["payment_details"].splitlines()[1] in html  # the IBAN line

    Organization.objects.filter(name="Harbor Utilities").update(address="", payment_details="")
    Organization.objects.filter(name="Riverside Property Management").update(
        address="Edited street 1"
    )
    before = Organization.objects.count(), Invoice.objects.unscoped().count()
    call_command("demo_seed", stdout=StringIO())
    assert (Organization.objects.count(), Invoice.objects.unscoped().count()) == before
    harbor = Organization.objects.get(name="Harbor Utilities")
    assert harbor.address == DEMO_BRANDING["Harbor Utilities"]["address"]
    assert harbor.payment_details == DEMO_BRANDING["Harbor Utilities"]["payment_details"]
    riverside = Organization.objects.get(name="Riverside Property Management")
    assert riverside.address == "Edited street 1"
