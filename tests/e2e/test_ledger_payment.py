"""A manager records a partial payment on a tenant's account page in a real browser and
sees the balance and the invoice's open amount change."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from billspree.core.scoping import organization_context
from ledger.models import Account
from tests.billing.builders import make_house
from tests.e2e.conftest import portal_login
from tests.ledger.builders import issued

pytestmark = pytest.mark.e2e


@pytest.fixture
def account(world_a):
    with organization_context(world_a.org):
        house = make_house()
        first = issued(house.tenant, house.bp, "100.00")
        second = issued(house.tenant, house.bp, "50.00")
        acc = Account.objects.get(tenant=house.tenant, currency="EUR")
    return acc, first, second


def test_record_a_payment_and_see_the_balance_change(page, world_a, account):
    acc, first, second = account
    portal_login(page, world_a.manager.email)
    page.goto(f"/ledger/accounts/{acc.public_id}/")
    balance = page.get_by_test_id("account-balance").get_by_test_id("balance")
    expect(balance).to_have_text("150.00 EUR")
    page.get_by_role("link", name="Record a payment…").click()
    page.get_by_label("Amount").fill("120.00")
    page.get_by_label("Reference").fill("June transfer")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator(".flash, .messages, [role=status]").first).to_contain_text(
        "Balance now 30.00 EUR")
    expect(balance).to_have_text("30.00 EUR")
    items = page.get_by_test_id("open-items")
    expect(items).to_contain_text(second.number)
    expect(items).not_to_contain_text(first.number)
    expect(items).to_contain_text("Partially paid")
    expect(page.get_by_test_id("payments")).to_contain_text("June transfer")
