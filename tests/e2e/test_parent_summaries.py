"""A manager creates the summaries of a period in a real browser (form, confirmation),
opens the summary from the parent's account page and sees the children's invoices."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_date
from ledger.services.accounts import account_for_tenant, account_set_parent
from tenants import services as tenant_services
from tests.billing.builders import make_house
from tests.e2e.conftest import portal_login
from tests.ledger.builders import issued

pytestmark = pytest.mark.e2e


@pytest.fixture
def group(world_a):
    # Berlin houses in a Berlin organization: the page's "today" is the invoices' issue day,
    # also between 23:00 and 24:00 UTC (tests/ledger/conftest.py)
    world_a.org.time_zone = "Europe/Berlin"
    world_a.org.save(update_fields=["time_zone"])
    with organization_context(world_a.org):
        shop_a, shop_b = make_house(), make_house()
        parent = account_for_tenant(tenant_services.tenant_create(name="Retail Group AG"),
                                    "EUR")
        for shop in (shop_a, shop_b):
            account_set_parent(account=account_for_tenant(shop.tenant, "EUR"), parent=parent)
        invs = [issued(shop_a.tenant, shop_a.bp, "123.45"),
                issued(shop_b.tenant, shop_b.bp, "876.55")]
    return parent, invs, local_date(timezone.now(), world_a.org)


def test_create_the_summaries_of_a_period_and_open_one(page, world_a, group):
    parent, invs, today = group
    portal_login(page, world_a.manager.email)
    page.goto("/ledger/summaries/")
    expect(page.get_by_text("No summaries yet")).to_be_visible()
    page.get_by_role("link", name="Create summaries for a period…").click()
    page.get_by_label("First day").fill(today.isoformat())
    page.get_by_label("Last day").fill(today.isoformat())
    page.get_by_role("button", name="Continue…").click()
    expect(page.get_by_test_id("summary-preview")).to_contain_text("Retail Group AG (EUR)")
    expect(page.get_by_test_id("summary-preview")).to_contain_text("1,000.00")
    page.get_by_role("button", name="Create summaries").click()
    expect(page.get_by_test_id("summary-total")).to_have_text("1,000.00 EUR")
    for inv in invs:
        expect(page.get_by_test_id("summary-children")).to_contain_text(inv.number)
    page.goto(f"/ledger/accounts/{parent.public_id}/")
    card = page.get_by_test_id("account-summaries")
    expect(card).to_contain_text("1,000.00")
    expect(card.get_by_role("link", name="PDF")).to_be_visible()
