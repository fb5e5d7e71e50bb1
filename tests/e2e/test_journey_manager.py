"""A property manager's month in one Chromium journey, as issue 15 walked it: the dashboard,
a meter and its readings chart, a tenant moving out (the incoming one picked from the list,
the move reading typed in the wizard), a CSV of readings in the property's date form, the
bill run, the review (the previous month beside the draft, the change flagged), issuing, and
the invoice with lines that read as people write them. The pieces have their own detailed
journeys (``test_journey_*``); this one proves they connect, under the strict CSP."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing import services as billing
from billing.models import Invoice, InvoiceStatus
from billspree.core.scoping import organization_context
from readings.models import Reading
from tenants import services as tenants
from tenants.models import Move
from tests.billing.builders import at, make_house, read
from tests.e2e.conftest import portal_login
from tests.e2e.test_csp import Violations

pytestmark = pytest.mark.e2e
AUG, SEP, OCT = date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)


@pytest.fixture
def month(world_a):
    """A flat that used 100 kWh in August (issued, 35.70 EUR with 19 % VAT) and is read
    on 1 September; a batch with its subscription; Ms Keller, who will move in on 1 October."""
    world_a.org.time_zone = "Europe/Berlin"
    world_a.org.save()
    with organization_context(world_a.org):
        house = make_house(flat="0.30", standing=False)
        read(house.meter, (at(AUG), "1000"), (at(SEP), "1100"))
        [august] = billing.invoice_create_draft(subscriptions=[house.subscription], start=AUG,
                                                end=SEP)
        billing.invoice_issue(invoice=august)
        batch = billing.batch_create(name="Monthly", billing_day=2)
        billing.batch_subscriptions_set(batch=batch, add=[house.subscription])
        tenants.tenant_create(name="Ms Keller")
    return house, batch, august


def test_a_managers_month(page, world_a, month):
    house, batch, august = month
    violations = Violations(page.context)
    violations.watch(page)
    portal_login(page, world_a.manager.email)

    # dashboard → the meter → its readings and chart
    expect(page.get_by_test_id("card-billed-this-month")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Meters").click()
    page.get_by_role("link", name=house.meter.serial_number).first.click()
    expect(page.get_by_test_id("meter-readings-panel")).to_contain_text("1100 kWh")
    page.get_by_role("link", name="Readings, chart & consumption").click()
    expect(page.locator("figure[data-chart]").first).to_be_visible()

    # the tenant moves out on 1 October; Ms Keller moves in; the move reading is typed
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tenants").click()
    page.get_by_role("link", name="Register a move").first.click()
    page.get_by_label("Billing point").select_option(label=str(house.bp))
    page.get_by_label("Move date").fill("2026-10-01")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("last-reading")).to_contain_text("1100")
    incoming = page.get_by_label("Incoming tenant")
    keller = incoming.locator("option", has_text="Ms Keller").get_attribute("value")
    incoming.select_option(value=keller)
    page.get_by_label(re.compile(house.meter.serial_number)).fill("1280")
    page.get_by_role("button", name="Review the move").click()
    page.get_by_role("button", name="Confirm move").click()
    expect(page.get_by_text(f"Move registered at {house.bp.name}")).to_be_visible()

    # a mid-month reading arrives as a CSV in the property's date form
    page.goto("/readings/upload/")
    page.get_by_label("CSV file").set_input_files({
        "name": "september.csv", "mimeType": "text/csv",
        "buffer": f"meterNumber;readAt;value\n{house.meter.serial_number};15.09.2026 12:00;"
                  "1150\n".encode(),
    })
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("upload-status")).to_have_text("Imported")

    # the September run: the draft beside August, +80 % flagged
    page.goto(f"/billing/batches/{batch.public_id}/")
    page.get_by_role("link", name="Start run…").first.click()
    page.get_by_label("Period start").fill("2026-09-01")
    page.get_by_label("Period end").fill("2026-10-01")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Start run").click()
    review = page.get_by_test_id("run-review")
    expect(review).to_contain_text("Review: 1 draft")
    row = review.locator("tr", has_text=house.tenant.name)
    expect(row.get_by_test_id("review-previous")).to_contain_text("35.70 EUR")
    expect(row.get_by_test_id("review-change")).to_contain_text("+80.0 %")
    expect(row.get_by_test_id("outlier")).to_be_visible()

    # issue it, then open the invoice
    page.get_by_role("button", name=re.compile(r"^Issue all")).click()
    page.get_by_role("button", name=re.compile(r"^Issue 1 invoice")).click()
    issued = page.get_by_test_id("run-issued")
    with organization_context(world_a.org):
        invoice = Invoice.objects.exclude(pk=august.pk).get()
    expect(issued).to_contain_text(invoice.number)
    issued.get_by_role("link", name=invoice.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(invoice.number)
    expect(page.locator(".invoice-lines tbody")).to_contain_text(
        "Energy, 1–30 Sep 2026: 180 kWh × 0.3000")

    with organization_context(world_a.org):
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.ISSUED
        assert invoice.tenant_id == house.tenant.pk  # September is the outgoing tenant's
        assert invoice.total == Decimal("64.26")  # 180 kWh × 0.30 = 54.00, + 19 % VAT
        assert Move.objects.get().incoming.tenant.name == "Ms Keller"
        assert list(Reading.objects.filter(meter=house.meter, read_at__gt=at(SEP))
                    .order_by("read_at").values_list("read_at", "value")) == [
            (at(date(2026, 9, 15), 12), Decimal("1150")), (at(OCT), Decimal("1280"))]
    violations.assert_none("a manager's month")
