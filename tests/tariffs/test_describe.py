"""Line descriptions as people write them (``tariffs.pricing.describe``): the words and the
days; the exact numbers stay in the line's fields."""

from datetime import date, datetime, time
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from tariffs.pricing import (
    FLAT,
    LINE_MINIMUM,
    LINE_STANDING,
    LINE_USAGE,
    STANDING,
    TIERED,
    Period,
    Rule,
    Settings,
    Tier,
    Usage,
    describe,
    price,
)

ZURICH = "Europe/Zurich"


def period(first: date, end: date, tz: str = ZURICH) -> Period:
    z = ZoneInfo(tz)
    return Period(datetime.combine(first, time(0), z), datetime.combine(end, time(0), z), tz)


@pytest.mark.parametrize(("first", "end", "text"), [
    (date(2026, 11, 1), date(2026, 12, 1), "Standing charge, 1–30 Nov 2026"),  # same month
    (date(2026, 10, 15), date(2026, 11, 15), "Standing charge, 15 Oct – 14 Nov 2026"),
    (date(2026, 12, 15), date(2027, 1, 15), "Standing charge, 15 Dec 2026 – 14 Jan 2027"),
    (date(2028, 2, 1), date(2028, 3, 1), "Standing charge, 1–29 Feb 2028"),  # leap year
    (date(2028, 2, 29), date(2028, 3, 1), "Standing charge, 29 Feb 2028"),  # the leap day
    (date(2026, 11, 30), date(2026, 12, 1), "Standing charge, 30 Nov 2026"),  # one day
])
def test_standing_charge_reads_as_name_and_days(first, end, text):
    assert describe.standing("Standing charge", period(first, end)) == text


def test_period_ending_inside_a_day_includes_that_day():
    z = ZoneInfo(ZURICH)  # a move at 14:00 on 15 Nov: that day is in the period
    p = Period(datetime(2026, 11, 1, tzinfo=z), datetime(2026, 11, 15, 14, tzinfo=z), ZURICH)
    assert describe.period_text(p) == "1–15 Nov 2026"


def test_energy_line_reads_with_quantity_and_price():
    p = period(date(2026, 11, 1), date(2026, 12, 1))
    assert describe.usage("Electricity", p, D("6008.2"), "kWh", D("0.245")) == \
        "Electricity, 1–30 Nov 2026: 6,008.2 kWh × 0.2450"


@pytest.mark.parametrize(("value", "text"), [
    (D("6008.2000"), "6,008.2"), (D("100"), "100"), (D("0.0822"), "0.082"), (D("0"), "0"),
    (D("1234567.891"), "1,234,567.891"), (D("-15.5"), "-15.5"), (None, "∞"),
])
def test_numbers_for_reading(value, text):
    assert describe.number_text(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (D("0.245"), "0.2450"), (D("300"), "300"), (D("0.123456"), "0.123456"),
    (D("1.5"), "1.5000"), (D("1200.25"), "1,200.2500"),
])
def test_prices_for_reading(value, text):
    assert describe.price_text(value) == text


def test_tier_blocks_read_as_first_next_above():
    assert describe.tier_span(D("0"), D("100"), "kWh") == "first 100 kWh"
    assert describe.tier_span(D("100"), D("300"), "kWh") == "100–300 kWh"
    assert describe.tier_span(D("300"), None, "kWh") == "above 300 kWh"


EUR = Settings(currency="EUR")


def test_engine_lines_carry_words_kind_and_exact_numbers():
    p = period(date(2026, 11, 1), date(2026, 12, 1))
    rules = [
        Rule(kind=STANDING, name="Standing charge", price=D("300"), per="year"),
        Rule(kind=TIERED, name="Electricity", meter_type="electricity",
             tiers=(Tier(D("100"), D("0.20")), Tier(None, D("0.30")))),
        Rule(kind=FLAT, name="Water", unit="m³", meter_type="cold_water", price=D("2"),
             minimum_charge=D("50")),
    ]
    q = price(rules=rules, period=p, settings=EUR, usage={
        "electricity": Usage(total=D("6008.2")), "cold_water": Usage(total=D("3"))})
    got = [(x.description, x.kind, x.quantity, x.unit, x.unit_price, x.amount.amount)
           for x in q.lines]
    fraction = D(30) / D(365)
    assert got == [
        ("Standing charge, 1–30 Nov 2026", LINE_STANDING, fraction, "year", D("300"),
         D("24.66")),
        ("Electricity, 1–30 Nov 2026, first 100 kWh: 100 kWh × 0.2000", LINE_USAGE, D("100"),
         "kWh", D("0.20"), D("20.00")),
        ("Electricity, 1–30 Nov 2026, above 100 kWh: 5,908.2 kWh × 0.3000", LINE_USAGE,
         D("5908.2"), "kWh", D("0.30"), D("1772.46")),
        ("Water, 1–30 Nov 2026: 3 m³ × 2", LINE_USAGE, D("3"), "m³", D("2"), D("6.00")),
        ("Water, 1–30 Nov 2026: top-up to the minimum charge of 50.00 EUR", LINE_MINIMUM,
         D("1"), "period", D("44.00"), D("44.00")),
    ]
