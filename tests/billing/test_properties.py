"""Properties of billing over generated cases (hypothesis): totals are sums of lines;
consumption is never negative; billing a period in two parts costs the same as in one for
linear rules; re-running the same billing creates nothing new.

Every example builds its own house inside a savepoint that is rolled back at the end, so
examples never see each other's rows (the test's own transaction is rolled back by
pytest-django as usual).
"""

from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import services
from billing.models import Invoice, InvoiceLine
from tests.billing.builders import at, make_house, read

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)

DB_SETTINGS = settings(
    max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# consumption in tenths of a kWh (0 … 400 kWh per part)
tenths = st.integers(min_value=0, max_value=4000).map(lambda n: D(n) / 10)
start_values = st.integers(min_value=0, max_value=50_000).map(D)
# a split day strictly inside September
split_days = st.integers(min_value=2, max_value=30).map(lambda d: date(2026, 9, d))
cents = st.integers(min_value=1, max_value=99).map(lambda n: D(n) / 100)


@st.composite
def tier_tables(draw):
    """1–4 ascending block limits (whole kWh) and a price per block, the last open-ended."""
    limits = sorted(draw(st.sets(st.integers(min_value=1, max_value=600), min_size=0,
                                 max_size=3)))
    prices = draw(st.lists(cents, min_size=len(limits) + 1, max_size=len(limits) + 1))
    rows = [{"up_to": str(limit), "price": str(p)}
            for limit, p in zip(limits, prices[:-1], strict=True)]
    return rows + [{"up_to": None, "price": str(prices[-1])}]


@st.composite
def linear_prices(draw):
    """A flat price and a consumption quantum whose products are whole cents, so the two
    ways of billing cannot differ by rounding: tenths of a kWh at multiples of 0.10, or
    whole kWh at any cent price."""
    if draw(st.booleans()):
        return D(draw(st.integers(min_value=1, max_value=50))) / 10, D("0.1")
    return draw(cents), D("1")


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def check_sums(inv) -> None:
    assert inv.net_total == sum(x.amount for x in inv.lines)
    assert inv.tax_total == sum(x.tax_amount for x in inv.lines)
    assert inv.total == sum(x.amount + x.tax_amount for x in inv.lines)
    assert all(x.quantity >= 0 for x in inv.lines)


@pytest.fixture
def ctx(in_org_a):
    return in_org_a


@DB_SETTINGS
@given(tiers=tier_tables(), start=start_values, first=tenths, second=tenths, mid=split_days,
       connected_day=st.integers(min_value=1, max_value=20))
def test_tiered_totals_are_sums_of_lines_and_usage_is_the_consumption(
        ctx, tiers, start, first, second, mid, connected_day):
    connected = date(2026, 9, connected_day)
    read_at = max(mid, connected + timedelta(days=1))
    with rolled_back():
        h = make_house(tiers=tiers, connected=connected, initial=str(start))
        read(h.meter, (at(read_at), str(start + first)), (at(OCT), str(start + first + second)))
        [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP,
                                         end=OCT).invoices
        check_sums(inv)
        usage = [x for x in inv.lines if x.kind == "usage"]
        # the blocks used add up to exactly the meter's advance over the period
        assert sum(x.quantity for x in usage) == first + second
        assert all(x.usage.end_value >= x.usage.start_value for x in usage)


@DB_SETTINGS
@given(start=st.integers(min_value=8500, max_value=9999) | st.integers(0, 9999),
       steps=st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=2))
def test_consumption_is_never_negative_across_a_register_rollover(ctx, start, steps):
    # a 4-digit register: the readings are the running total modulo 10 000, so a reading
    # may be lower than the one before it (the register wrapped), never the consumption.
    # Ingest takes a lower reading as a rollover only for an advance of at most 10 % of
    # the register (readings.registers.ROLLOVER_SHARE), hence steps of at most 1 000.
    values = [start, (start + steps[0]) % 10_000, (start + sum(steps)) % 10_000]
    with rolled_back():
        h = make_house(flat="0.30", initial=str(values[0]), register_digits=4,
                       connected=date(2026, 8, 31))
        read(h.meter, (at(SEP), str(values[1])), (at(OCT), str(values[2])))
        [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP,
                                         end=OCT).invoices
        check_sums(inv)
        [energy] = [x for x in inv.lines if x.kind == "usage"]
        assert energy.quantity == steps[1] >= 0


@DB_SETTINGS
@given(prices=linear_prices(), start=start_values, first=st.integers(0, 4000),
       second=st.integers(0, 4000), mid=split_days)
def test_linear_rules_cost_the_same_in_two_parts_and_rebilling_creates_nothing(
        ctx, prices, start, first, second, mid):
    price, quantum = prices
    a, b = start + first * quantum, start + (first + second) * quantum
    with rolled_back():
        assert not Invoice.objects.exists()  # earlier examples' invoices were rolled back
        h = make_house(flat=str(price), initial=str(start))
        read(h.meter, (at(SEP), str(start)), (at(mid), str(a)), (at(OCT), str(b)))
        subs = [h.subscription]
        [whole] = services.invoice_preview(subscriptions=subs, start=SEP, end=OCT).invoices
        [one] = services.invoice_preview(subscriptions=subs, start=SEP, end=mid).invoices
        [two] = services.invoice_preview(subscriptions=subs, start=mid, end=OCT).invoices
        for inv in (whole, one, two):
            check_sums(inv)
        # standing 9.90 a month prorated by days (9.90 / 30 = 0.33 a day, whole cents) and
        # a flat price whose products with the consumption are whole cents: nothing rounds
        assert one.net_total + two.net_total == whole.net_total
        assert whole.net_total == D("9.90") + (b - start) * price

        created = services.invoice_create_draft(subscriptions=subs, start=SEP, end=OCT)
        assert len(created) == 1
        counts = (Invoice.objects.count(), InvoiceLine.objects.count())
        with pytest.raises(ValidationError):
            services.invoice_create_draft(subscriptions=subs, start=SEP, end=OCT)
        assert (Invoice.objects.count(), InvoiceLine.objects.count()) == counts
