"""The engine to the cent on hand-computed examples (the arithmetic is in each test)."""

from datetime import date
from decimal import Decimal as D

import pytest

from billing import services
from tests.billing.builders import at, make_house, read

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


def lines_of(inv):
    return [(x.description, x.quantity, x.amount, x.tax_amount) for x in inv.lines]


@pytest.fixture
def ctx(in_org_a):
    return in_org_a


def test_tiers_and_standing_charge_for_a_whole_month(ctx):
    h = make_house()
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))  # 300 kWh in September
    preview = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT)
    [inv] = preview.invoices
    # standing 1 month × 9.90 = 9.90, VAT 19 % = 1.881 → 1.88
    # 0–100 kWh: 100 × 0.20 = 20.00, VAT 3.80; 100–300: 200 × 0.25 = 50.00, VAT 9.50
    amounts = [(x.amount, x.tax_amount) for x in inv.lines]
    assert amounts == [(D("9.90"), D("1.88")), (D("20.00"), D("3.80")), (D("50.00"), D("9.50"))]
    assert (inv.net_total, inv.tax_total, inv.total) == (D("79.90"), D("15.18"), D("95.08"))
    assert inv.can_bill and inv.tenant == h.tenant
    usage = inv.lines[1].usage
    assert usage.start_value == D("1100") and usage.end_value == D("1400")
    assert usage.start_read_at == at(SEP) and usage.end_read_at == at(OCT)
    assert not usage.estimated
