"""Properties over many random cases (seeded; hypothesis is not a dependency): totals are
sums of lines; consumption is never negative; billing a period in two parts costs the same
as in one for linear rules; re-running the same billing creates nothing new."""

import random
from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from billing import services
from billing.models import Invoice, InvoiceLine
from tests.billing.builders import at, make_house, read

SEP, MID, OCT = date(2026, 9, 1), date(2026, 9, 16), date(2026, 10, 1)


@pytest.mark.parametrize("seed", range(8))
def test_random_readings_properties(in_org_a, seed):
    rng = random.Random(seed)
    h = make_house(flat="0.30")
    a = D(1000 + rng.randint(0, 500))
    b = a + D(rng.randint(0, 4000)) / 10
    c = b + D(rng.randint(0, 4000)) / 10
    read(h.meter, (at(SEP), str(a)), (at(MID), str(b)), (at(OCT), str(c)))
    [whole] = services.invoice_preview(subscriptions=[h.subscription], start=SEP,
                                       end=OCT).invoices
    [first] = services.invoice_preview(subscriptions=[h.subscription], start=SEP,
                                       end=MID).invoices
    [second] = services.invoice_preview(subscriptions=[h.subscription], start=MID,
                                        end=OCT).invoices
    for inv in (whole, first, second):
        assert inv.net_total == sum(x.amount for x in inv.lines)
        assert inv.total == sum(x.amount + x.tax_amount for x in inv.lines)
        assert all(x.quantity >= 0 for x in inv.lines)
    # linear rules (per-month standing prorated by days, flat price); quantities in tenths
    # of a kWh × 0.30 are whole cents, so no rounding differs between the two ways
    assert first.net_total + second.net_total == whole.net_total
    created = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    counts = (Invoice.objects.count(), InvoiceLine.objects.count())
    with pytest.raises(ValidationError):
        services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    assert (Invoice.objects.count(), InvoiceLine.objects.count()) == counts
    assert len(created) == 1
