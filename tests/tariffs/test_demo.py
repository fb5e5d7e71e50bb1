"""The demo tariffs: realistic, priced to the cent, and idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billspree.core.scoping import organization_context
from meters import demo as meters_demo
from tariffs import demo, selectors
from tariffs.models import BillingPointRateList, Plan, PricingTemplate, RateList
from tests.tariffs.test_services import state


def test_demo_seed_is_idempotent_and_complete(world_a):
    with organization_context(world_a.org):
        meters_demo.seed(world_a.org)
        demo.seed(world_a.org)
        before = state()
        demo.seed(world_a.org)
        assert state() == before
        household = RateList.objects.get(name="Household electricity")
        assert [v.number for v in household.versions.order_by("effective_from")] == [1, 2]
        assert {p.name for p in Plan.objects.all()} == {"Residential", "Commercial", "Parking"}
        assert PricingTemplate.objects.count() == 5
        assert BillingPointRateList.objects.count() == 1


def test_demo_household_electricity_priced_by_hand(world_a):
    with organization_context(world_a.org):
        demo.seed(world_a.org)
        household = RateList.objects.get(name="Household electricity")
        request = selectors.QuoteRequest(
            start=date(2026, 2, 1), end=date(2026, 3, 1), time_zone="Europe/Berlin",
            totals={"electricity": Decimal("420")}, intervals={},
        )
        quote = selectors.rate_list_quote(rate_list=household, request=request)
    # 2026 prices: standing 12.40; 150 × 0.30 = 45.00; 250 × 0.34 = 85.00; 20 × 0.38 = 7.60
    # net 150.00; VAT 19 %: 2.36 + 8.55 + 16.15 + 1.44 = 28.50; total 178.50
    assert [str(x.amount.amount) for x in quote.lines] == ["12.40", "45.00", "85.00", "7.60"]
    assert str(quote.tax.amount) == "28.50" and str(quote.total.amount) == "178.50"
