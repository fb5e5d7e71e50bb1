"""The pricing engine, pure (no database). Each test writes its arithmetic out."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

import pytest
from moneyed import Money

from tariffs.pricing import (
    FLAT,
    STANDING,
    TIERED,
    TIME_OF_USE,
    VOLUME,
    Band,
    Interval,
    Period,
    PricingError,
    Rule,
    Settings,
    Tier,
    Usage,
    price,
    split_by_band,
)

D = Decimal
BERLIN = "Europe/Berlin"
TZ = ZoneInfo(BERLIN)
EUR = Settings("EUR")


def period(start: date, end: date, tz: str = BERLIN) -> Period:
    zone = ZoneInfo(tz)
    return Period(
        datetime.combine(start, time(0), tzinfo=zone),
        datetime.combine(end, time(0), tzinfo=zone),
        tz,
    )


MARCH = period(date(2026, 3, 1), date(2026, 4, 1))
APRIL = period(date(2026, 4, 1), date(2026, 5, 1))


def amounts(quote) -> list[str]:
    return [str(line.amount.amount) for line in quote.lines]


def flat(unit_price="0.25", **kw) -> Rule:
    return Rule(kind=FLAT, name="Energy", meter_type="electricity", price=D(unit_price), **kw)


def tiers(*pairs) -> tuple[Tier, ...]:
    return tuple(Tier(None if up is None else D(up), D(p)) for up, p in pairs)


TOU_BANDS = (
    Band("Peak", frozenset({"weekday"}), time(7), time(20), D("0.30")),
    Band("Off-peak", frozenset({"weekday"}), time(20), time(7), D("0.10")),
    Band("Weekend", frozenset({"weekend", "holiday"}), time(0), time(0), D("0.05")),
)


def tou(**kw) -> Rule:
    return Rule(kind=TIME_OF_USE, name="TOU", meter_type="electricity", bands=TOU_BANDS, **kw)


def hourly(p: Period, qty: str = "1") -> tuple[Interval, ...]:
    out, t = [], p.start.astimezone(UTC)
    while t < p.end:
        out.append(Interval(t, t + timedelta(hours=1), D(qty)))
        t += timedelta(hours=1)
    return tuple(out)


# --- flat, rounding -----------------------------------------------------------------------


def test_flat_rounds_once_at_line_level_half_up():
    # 123.45 kWh × 0.2345 = 28.949025 → 28.95 (half up); VAT 19 %: 28.95 × 0.19 = 5.5005 → 5.50
    q = price(rules=[flat("0.2345", tax_rate=D("19"))], period=MARCH,
              usage={"electricity": Usage(total=D("123.45"))}, settings=EUR)
    (line,) = q.lines
    assert line.amount == Money("28.95", "EUR")
    assert line.tax == Money("5.50", "EUR")
    assert q.total == Money("34.45", "EUR")


def test_half_up_versus_half_even():
    # 10 × 0.1125 = 1.125 → 1.13 half up, 1.12 half even
    rule = flat("0.1125")
    usage = {"electricity": Usage(total=D("10"))}
    assert amounts(price(rules=[rule], period=MARCH, usage=usage, settings=EUR)) == ["1.13"]
    even = Settings("EUR", rounding=ROUND_HALF_EVEN)
    assert amounts(price(rules=[rule], period=MARCH, usage=usage, settings=even)) == ["1.12"]


def test_currency_without_minor_unit():
    # JPY has no minor unit: 333 kWh × 27.5 = 9157.5 → 9158
    q = price(rules=[flat("27.5")], period=MARCH, usage={"electricity": Usage(total=D("333"))},
              settings=Settings("JPY"))
    assert q.lines[0].amount == Money("9158", "JPY")


def test_totals_are_sums_of_rounded_lines():
    # three lines of 1 × 0.005 = 0.005 → 0.01 each; total 0.03 (not round(0.015) = 0.02)
    rules = [Rule(kind=FLAT, name=f"R{i}", meter_type="gas", price=D("0.005")) for i in range(3)]
    q = price(rules=rules, period=MARCH, usage={"gas": Usage(total=D("1"))}, settings=EUR)
    assert q.net == Money("0.03", "EUR")


# --- standing charges ---------------------------------------------------------------------


def test_standing_charge_per_month_full_month():
    rule = Rule(kind=STANDING, name="Standing", price=D("12.00"))
    assert amounts(price(rules=[rule], period=MARCH, settings=EUR)) == ["12.00"]


def test_standing_charge_per_month_prorated_by_days_across_months():
    # 16 Mar – 16 Apr: 16/31 of March + 15/30 of April = 0.516129 + 0.5 = 1.016129 months
    # × 12.00 = 12.193548… → 12.19
    rule = Rule(kind=STANDING, name="Standing", price=D("12.00"))
    q = price(rules=[rule], period=period(date(2026, 3, 16), date(2026, 4, 16)), settings=EUR)
    assert amounts(q) == ["12.19"]
    assert q.lines[0].quantity.quantize(D("0.000001")) == D("1.016129")


def test_standing_charge_per_day_counts_dst_day_as_one_day():
    # 28–30 March 2026 in Berlin includes the 23-hour day of 29 March: still 2 days × 0.40
    rule = Rule(kind=STANDING, name="Standing", price=D("0.40"), per="day")
    q = price(rules=[rule], period=period(date(2026, 3, 28), date(2026, 3, 30)), settings=EUR)
    assert q.lines[0].quantity == 2
    assert amounts(q) == ["0.80"]


def test_standing_charge_per_year_in_a_leap_year():
    # Feb 2028 has 29 days; 2028 has 366: 29/366 × 366.00 = 29.00
    rule = Rule(kind=STANDING, name="Meter rental", price=D("366.00"), per="year")
    q = price(rules=[rule], period=period(date(2028, 2, 1), date(2028, 3, 1)), settings=EUR)
    assert amounts(q) == ["29.00"]


# --- tiers, volume --------------------------------------------------------------------------

BLOCKS = tiers(("100", "0.20"), ("300", "0.25"), (None, "0.30"))


def test_tiered_graduated_full_period():
    # 350 kWh: 100 × 0.20 = 20.00; 200 × 0.25 = 50.00; 50 × 0.30 = 15.00
    rule = Rule(kind=TIERED, name="Energy", meter_type="electricity", tiers=BLOCKS)
    q = price(rules=[rule], period=APRIL, usage={"electricity": Usage(total=D("350"))},
              settings=EUR)
    assert amounts(q) == ["20.00", "50.00", "15.00"]
    assert [line.quantity for line in q.lines] == [100, 200, 50]


def test_tiered_partial_period_scales_block_limits_by_days():
    # 15 of 30 April days: factor 0.5 → blocks 0–50, 50–150, over 150.
    # 200 kWh: 50 × 0.20 = 10.00; 100 × 0.25 = 25.00; 50 × 0.30 = 15.00
    rule = Rule(kind=TIERED, name="Energy", meter_type="electricity", tiers=BLOCKS)
    q = price(rules=[rule], period=period(date(2026, 4, 1), date(2026, 4, 16)),
              billing_period=APRIL, usage={"electricity": Usage(total=D("200"))}, settings=EUR)
    assert amounts(q) == ["10.00", "25.00", "15.00"]


def test_tiered_partial_period_limits_rounded_to_three_decimals():
    # 10 of 31 March days: 100 × 10/31 = 32.258064… → 32.258 kWh in the first block
    rule = Rule(kind=TIERED, name="Energy", meter_type="electricity", tiers=BLOCKS)
    q = price(rules=[rule], period=period(date(2026, 3, 1), date(2026, 3, 11)),
              billing_period=MARCH, usage={"electricity": Usage(total=D("40"))}, settings=EUR)
    assert [line.quantity for line in q.lines] == [D("32.258"), D("7.742")]
    # 32.258 × 0.20 = 6.4516 → 6.45; 7.742 × 0.25 = 1.9355 → 1.94
    assert amounts(q) == ["6.45", "1.94"]


def test_tiered_quantity_inside_first_block():
    rule = Rule(kind=TIERED, name="Energy", meter_type="electricity", tiers=BLOCKS)
    q = price(rules=[rule], period=APRIL, usage={"electricity": Usage(total=D("80"))},
              settings=EUR)
    assert amounts(q) == ["16.00"]


def test_volume_all_units_at_the_block_reached():
    # 350 kWh reaches the open block: 350 × 0.30 = 105.00; 300 kWh stays in block 2: 75.00
    rule = Rule(kind=VOLUME, name="Energy", meter_type="electricity", tiers=BLOCKS)
    usage350 = {"electricity": Usage(total=D("350"))}
    usage300 = {"electricity": Usage(total=D("300"))}
    assert amounts(price(rules=[rule], period=APRIL, usage=usage350, settings=EUR)) == ["105.00"]
    assert amounts(price(rules=[rule], period=APRIL, usage=usage300, settings=EUR)) == ["75.00"]


def test_volume_partial_period():
    # half of April: blocks 50 / 150 / open. 120 kWh is in block 2: 120 × 0.25 = 30.00
    rule = Rule(kind=VOLUME, name="Energy", meter_type="electricity", tiers=BLOCKS)
    q = price(rules=[rule], period=period(date(2026, 4, 16), date(2026, 5, 1)),
              billing_period=APRIL, usage={"electricity": Usage(total=D("120"))}, settings=EUR)
    assert amounts(q) == ["30.00"]


def test_volume_without_open_block_is_a_programming_error():
    rule = Rule(kind=VOLUME, name="E", meter_type="electricity", tiers=tiers(("10", "1")))
    with pytest.raises(PricingError):
        price(rules=[rule], period=APRIL, usage={"electricity": Usage(total=D("11"))},
              settings=EUR)


# --- allowance, minimum ---------------------------------------------------------------------


def test_allowance_then_flat():
    # 10 m³ free per month, 14 used: 10 free, 4 × 2.10 = 8.40
    rule = Rule(kind=FLAT, name="Water", meter_type="cold_water", unit="m³", price=D("2.10"),
                allowance=D("10"))
    q = price(rules=[rule], period=APRIL, usage={"cold_water": Usage(total=D("14"))},
              settings=EUR)
    assert [(line.quantity, str(line.amount.amount)) for line in q.lines] == [
        (D("10"), "0.00"), (D("4"), "8.40"),
    ]


def test_allowance_prorated_and_larger_than_use():
    # half of April: 5 m³ free, 3 used → 3 free, nothing charged
    rule = Rule(kind=FLAT, name="Water", meter_type="cold_water", unit="m³", price=D("2.10"),
                allowance=D("10"))
    q = price(rules=[rule], period=period(date(2026, 4, 1), date(2026, 4, 16)),
              billing_period=APRIL, usage={"cold_water": Usage(total=D("3"))}, settings=EUR)
    assert [line.quantity for line in q.lines] == [D("3"), D("0")]
    assert q.net == Money("0", "EUR")


def test_allowance_before_tiers():
    # 50 free, 200 used: 150 chargeable → 100 × 0.20 + 50 × 0.25 = 20.00 + 12.50
    rule = Rule(kind=TIERED, name="Energy", meter_type="electricity", tiers=BLOCKS,
                allowance=D("50"))
    q = price(rules=[rule], period=APRIL, usage={"electricity": Usage(total=D("200"))},
              settings=EUR)
    assert amounts(q) == ["0.00", "20.00", "12.50"]


def test_minimum_charge_tops_up():
    # 20 kWh × 0.25 = 5.00 < minimum 8.00 → top-up 3.00; total 8.00
    q = price(rules=[flat(minimum_charge=D("8.00"))], period=APRIL,
              usage={"electricity": Usage(total=D("20"))}, settings=EUR)
    assert amounts(q) == ["5.00", "3.00"]
    assert q.net == Money("8.00", "EUR")


def test_minimum_charge_prorated_and_not_applied_when_exceeded():
    # 10 of 30 days: minimum 9.00 × 1/3 = 3.00; 20 kWh × 0.25 = 5.00 ≥ 3.00 → no top-up
    q = price(rules=[flat(minimum_charge=D("9.00"))],
              period=period(date(2026, 4, 1), date(2026, 4, 11)), billing_period=APRIL,
              usage={"electricity": Usage(total=D("20"))}, settings=EUR)
    assert amounts(q) == ["5.00"]
    q = price(rules=[flat(minimum_charge=D("9.00"))],
              period=period(date(2026, 4, 1), date(2026, 4, 11)), billing_period=APRIL,
              usage={"electricity": Usage(total=D("4"))}, settings=EUR)
    assert amounts(q) == ["1.00", "2.00"]


def test_minimum_charge_taxed_like_its_rule():
    q = price(rules=[flat(minimum_charge=D("10"), tax_rate=D("20"))], period=APRIL,
              usage={"electricity": Usage(total=D("0"))}, settings=EUR)
    # 0 × 0.25 = 0; top-up 10.00, VAT 2.00
    assert q.tax == Money("2.00", "EUR")
    assert q.total == Money("12.00", "EUR")


# --- taxes, cash rounding --------------------------------------------------------------------


def test_taxes_summed_per_rate():
    rules = [
        Rule(kind=STANDING, name="Standing", price=D("10.00"), tax_rate=D("19")),
        Rule(kind=FLAT, name="Electricity", meter_type="electricity", price=D("0.30"),
             tax_rate=D("19")),
        Rule(kind=FLAT, name="Water", meter_type="cold_water", unit="m³", price=D("2.00"),
             tax_rate=D("7")),
    ]
    usage = {"electricity": Usage(total=D("100")), "cold_water": Usage(total=D("5"))}
    q = price(rules=rules, period=APRIL, usage=usage, settings=EUR)
    # 19 %: 10.00 + 30.00 = 40.00 net, 1.90 + 5.70 = 7.60 tax; 7 %: 10.00 net, 0.70 tax
    summary = {str(t.rate): (t.net, t.tax) for t in q.taxes}
    assert summary == {
        "7.00": (Money("10.00", "EUR"), Money("0.70", "EUR")),
        "19.00": (Money("40.00", "EUR"), Money("7.60", "EUR")),
    }
    assert q.total == Money("58.30", "EUR")


def test_cash_rounding_chf():
    # 13 kWh × 0.2712 = 3.5256 → 3.53; VAT 8.1 %: 0.285… → 0.29; gross 3.82 → 3.80 (0.05 steps)
    settings = Settings("CHF", cash_rounding=D("0.05"))
    q = price(rules=[flat("0.2712", tax_rate=D("8.1"))], period=APRIL,
              usage={"electricity": Usage(total=D("13"))}, settings=settings)
    assert q.gross == Money("3.82", "CHF")
    assert q.cash_rounding == Money("-0.02", "CHF")
    assert q.total == Money("3.80", "CHF")


def test_cash_rounding_up():
    # 1 × 3.83 = 3.83 → 3.85 (+0.02)
    settings = Settings("CHF", cash_rounding=D("0.05"))
    q = price(rules=[flat("3.83")], period=APRIL, usage={"electricity": Usage(total=D("1"))},
              settings=settings)
    assert q.total == Money("3.85", "CHF")


# --- time of use ----------------------------------------------------------------------------


def test_tou_without_interval_data_returns_a_diagnostic_not_a_guess():
    q = price(rules=[tou(minimum_charge=D("5"))], period=APRIL,
              usage={"electricity": Usage(total=D("300"))}, settings=EUR)
    assert q.lines == []
    assert [d.code for d in q.diagnostics] == ["tou_no_interval_data"]
    assert not q.can_bill


def test_tou_weekday_weekend_split_in_a_normal_week():
    # Mon 13 – Mon 20 April 2026, 1 kWh each hour: 5 weekdays × 13 peak hours = 65,
    # 5 × 11 off-peak = 55, 2 weekend days × 24 = 48
    p = period(date(2026, 4, 13), date(2026, 4, 20))
    q = price(rules=[tou()], period=p, usage={"electricity": Usage(intervals=hourly(p))},
              settings=EUR)
    assert [(line.quantity, str(line.amount.amount)) for line in q.lines] == [
        (D("65"), "19.50"), (D("55"), "5.50"), (D("48"), "2.40"),
    ]
    assert q.diagnostics == []


def test_tou_spring_forward_day_has_23_hours():
    # Sunday 29 March 2026 (Berlin): 23 hourly intervals, all weekend → 23 kWh
    # Mon 30 March: 13 peak + 11 off-peak
    p = period(date(2026, 3, 29), date(2026, 3, 31))
    intervals = hourly(p)
    assert len(intervals) == 47
    q = price(rules=[tou()], period=p, usage={"electricity": Usage(intervals=intervals)},
              settings=EUR)
    assert {line.description.split(", ")[2].split(" (")[0]: line.quantity
            for line in q.lines} == {"Peak": 13, "Off-peak": 11, "Weekend": 23}
    assert q.diagnostics == []


def test_tou_fall_back_day_repeated_hour_counts_twice():
    # Friday 23 – Mon 26 Oct 2026 would be long; take Sun 25 Oct (25 hours) as a holiday-free
    # weekday rule: make every day a "weekday" with an off-peak 02:00–03:00 band.
    bands = (
        Band("Night", frozenset({"weekday", "weekend", "holiday"}), time(2), time(3), D("0.10")),
        Band("Rest", frozenset({"weekday", "weekend", "holiday"}), time(3), time(2), D("0.30")),
    )
    rule = Rule(kind=TIME_OF_USE, name="TOU", meter_type="electricity", bands=bands)
    p = period(date(2026, 10, 25), date(2026, 10, 26))
    intervals = hourly(p)
    assert len(intervals) == 25
    q = price(rules=[rule], period=p, usage={"electricity": Usage(intervals=intervals)},
              settings=EUR)
    # the 02:00–03:00 wall-clock hour happens twice: 2 kWh at night, 23 at the rest price
    assert [line.quantity for line in q.lines] == [D("2"), D("23")]
    assert amounts(q) == ["0.20", "6.90"]


def test_tou_interval_crossing_a_band_boundary_is_split_by_time():
    # one interval 19:00–21:00 on a weekday with 4 kWh: 2 in peak (until 20:00), 2 off-peak
    p = period(date(2026, 4, 14), date(2026, 4, 15))
    start = datetime(2026, 4, 14, 19, tzinfo=TZ)
    usage = Usage(intervals=(Interval(start, start + timedelta(hours=2), D("4")),))
    per_band, covered = split_by_band(tou(), usage.intervals, p)
    assert per_band == {"Peak": D("2"), "Off-peak": D("2")}
    assert covered == timedelta(hours=2)


def test_tou_interval_across_dst_gap_split_by_real_time():
    # Sat 28 Mar 23:00 → Sun 29 Mar 04:00 Berlin is 4 real hours; bands by day kind only
    rule = Rule(kind=TIME_OF_USE, name="TOU", meter_type="electricity", bands=(
        Band("Weekday", frozenset({"weekday", "holiday"}), time(0), time(0), D("1")),
        Band("Weekend", frozenset({"weekend"}), time(0), time(0), D("2")),
    ))
    start = datetime(2026, 3, 28, 23, tzinfo=TZ)
    end = datetime(2026, 3, 29, 4, tzinfo=TZ)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=4)
    p = period(date(2026, 3, 28), date(2026, 3, 30))
    per_band, _ = split_by_band(rule, (Interval(start, end, D("8")),), p)
    assert per_band == {"Weekend": D("8")}


def test_tou_holiday_uses_holiday_band():
    # Friday 3 April 2026 is Good Friday: declared holiday → weekend/holiday band all day
    p = period(date(2026, 4, 3), date(2026, 4, 4))
    q = price(rules=[tou(holidays=frozenset({date(2026, 4, 3)}))], period=p,
              usage={"electricity": Usage(intervals=hourly(p))}, settings=EUR)
    assert [(line.quantity, str(line.amount.amount)) for line in q.lines] == [(D("24"), "1.20")]


def test_tou_incomplete_data_priced_with_a_warning():
    p = period(date(2026, 4, 14), date(2026, 4, 15))
    intervals = hourly(p)[:20]
    q = price(rules=[tou()], period=p, usage={"electricity": Usage(intervals=intervals)},
              settings=EUR)
    assert [d.code for d in q.diagnostics] == ["tou_incomplete_interval_data"]
    assert q.diagnostics[0].severity == "warning"
    assert "4 hours" in q.diagnostics[0].message
    assert sum(line.quantity for line in q.lines) == 20


def test_tou_overlapping_intervals_are_refused():
    p = period(date(2026, 4, 14), date(2026, 4, 15))
    start = datetime(2026, 4, 14, 10, tzinfo=TZ)
    twice = (Interval(start, start + timedelta(hours=1), D("1")),
             Interval(start + timedelta(minutes=30), start + timedelta(hours=2), D("1")))
    with pytest.raises(PricingError):
        split_by_band(tou(), twice, p)


def test_tou_month_of_quarter_hours_in_one_pass():
    # 31 days × 96 quarter hours of 0.25 kWh in March 2026 (Berlin; 23-hour day included)
    p = MARCH
    intervals, t = [], p.start.astimezone(UTC)
    while t < p.end:
        intervals.append(Interval(t, t + timedelta(minutes=15), D("0.25")))
        t += timedelta(minutes=15)
    assert len(intervals) == 743 * 4
    per_band, covered = split_by_band(tou(), intervals, p)
    assert sum(per_band.values()) == D("743")
    # 1 kWh an hour; March 2026 has 22 weekdays × 13 peak hours = 286 kWh at peak
    assert per_band["Peak"] == D("286")
    assert covered == timedelta(hours=743)


def test_tou_intervals_outside_the_period_are_ignored():
    p = period(date(2026, 4, 14), date(2026, 4, 15))
    wider = hourly(period(date(2026, 4, 13), date(2026, 4, 16)))
    q = price(rules=[tou()], period=p, usage={"electricity": Usage(intervals=wider)},
              settings=EUR)
    assert sum(line.quantity for line in q.lines) == 24
    assert q.diagnostics == []


# --- input errors and diagnostics -----------------------------------------------------------


def test_naive_period_is_refused():
    with pytest.raises(PricingError):
        Period(datetime(2026, 1, 1), datetime(2026, 2, 1))  # noqa: DTZ001


def test_empty_period_is_refused():
    start = datetime(2026, 1, 1, tzinfo=TZ)
    with pytest.raises(PricingError):
        Period(start, start, BERLIN)


def test_missing_consumption_is_a_diagnostic():
    q = price(rules=[flat(), tou()], period=APRIL, usage={}, settings=EUR)
    assert [(d.code, d.severity) for d in q.diagnostics] == [("no_consumption", "info")] * 2
    assert q.lines == []


def test_negative_consumption_is_refused():
    with pytest.raises(PricingError):
        price(rules=[flat()], period=APRIL, usage={"electricity": Usage(total=D("-1"))},
              settings=EUR)


def test_usage_total_from_intervals_for_non_tou_rule():
    p = period(date(2026, 4, 14), date(2026, 4, 15))
    q = price(rules=[flat()], period=p, usage={"electricity": Usage(intervals=hourly(p, "2"))},
              settings=EUR)
    assert q.lines[0].quantity == 48


# --- properties (seeded random; hypothesis is not installed) ---------------------------------

SEEDS = range(200)


def _random_rules(rng: random.Random) -> list[Rule]:
    def money(lo=0, hi=100000) -> D:
        return D(rng.randint(lo, hi)) / 10000

    up = sorted(rng.sample(range(1, 1000), 2))
    return [
        Rule(kind=STANDING, name="S", price=money(), per=rng.choice(["day", "month", "year"]),
             tax_rate=D(rng.choice(["0", "7", "19", "8.1"]))),
        Rule(kind=FLAT, name="F", meter_type="gas", price=money(), allowance=D(rng.randint(0, 50)),
             tax_rate=D(rng.choice(["0", "7", "19"]))),
        Rule(kind=rng.choice([TIERED, VOLUME]), name="T", meter_type="electricity",
             tiers=tiers((str(up[0]), str(money())), (str(up[1]), str(money())), (None, "0.3")),
             minimum_charge=money(0, 200000), tax_rate=D("19")),
    ]


def _random_period(rng: random.Random) -> tuple[Period, Period]:
    start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 700))
    full = period(start.replace(day=1), (start.replace(day=28) + timedelta(days=4)).replace(day=1))
    end = start + timedelta(days=rng.randint(1, 40))
    return period(start, end), full


@pytest.mark.parametrize("seed", SEEDS)
def test_property_totals_equal_sum_of_lines_and_lines_are_rounded(seed):
    rng = random.Random(seed)
    p, full = _random_period(rng)
    currency = rng.choice(["EUR", "CHF", "JPY", "KWD"])
    cash = D("0.05") if currency == "CHF" and rng.random() < 0.5 else None
    settings = Settings(currency, cash_rounding=cash)
    usage = {
        "gas": Usage(total=D(rng.randint(0, 10**6)) / 1000),
        "electricity": Usage(total=D(rng.randint(0, 10**6)) / 1000),
    }
    q = price(rules=_random_rules(rng), period=p, billing_period=full, usage=usage,
              settings=settings)
    minor = settings.minor_unit
    for line in q.lines:
        assert line.amount.amount == line.amount.amount.quantize(minor)
        assert line.tax.amount == line.tax.amount.quantize(minor)
        assert line.amount.amount >= 0 and line.quantity >= 0
    assert q.net.amount == sum(line.amount.amount for line in q.lines)
    assert q.tax.amount == sum(t.tax.amount for t in q.taxes)
    assert q.net.amount == sum(t.net.amount for t in q.taxes)
    assert q.total.amount == q.net.amount + q.tax.amount + (
        q.cash_rounding.amount if q.cash_rounding else 0
    )
    if cash:
        assert q.total.amount % cash == 0
        assert abs(q.cash_rounding.amount) <= cash / 2


@pytest.mark.parametrize("seed", SEEDS)
def test_property_linear_rules_split_in_two_cost_the_same_within_rounding(seed):
    # flat price and per-day standing charge are linear: billing [a, c) equals [a, b) + [b, c)
    # up to half a minor unit per rounded line (two lines in the split, one in the whole)
    rng = random.Random(seed)
    p, _ = _random_period(rng)
    days = int(p.days)
    if days < 2:
        return
    mid_date = p.local(p.start).date() + timedelta(days=rng.randint(1, days - 1))
    first = Period(p.start, datetime.combine(mid_date, time(0), tzinfo=TZ), BERLIN)
    second = Period(first.end, p.end, BERLIN)
    rules = [
        Rule(kind=FLAT, name="F", meter_type="gas", price=D(rng.randint(0, 9999)) / 10000),
        Rule(kind=STANDING, name="S", per="day", price=D(rng.randint(0, 9999)) / 100),
    ]
    q1, q2 = D(rng.randint(0, 10**5)) / 100, D(rng.randint(0, 10**5)) / 100
    whole = price(rules=rules, period=p, usage={"gas": Usage(total=q1 + q2)}, settings=EUR)
    a = price(rules=rules, period=first, usage={"gas": Usage(total=q1)}, settings=EUR)
    b = price(rules=rules, period=second, usage={"gas": Usage(total=q2)}, settings=EUR)
    assert abs((a.net + b.net - whole.net).amount) <= D("0.02")
    # the standing charge alone (whole days × price with 2 decimals) is exact
    assert a.lines[1].amount + b.lines[1].amount == whole.lines[1].amount


@pytest.mark.parametrize("seed", range(50))
def test_property_tou_bands_share_all_of_the_quantity(seed):
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=TZ) + timedelta(hours=rng.randint(0, 24 * 700))
    p = Period(start, start + timedelta(hours=rng.randint(1, 24 * 10)), BERLIN)
    intervals, t = [], p.start.astimezone(UTC)
    while t < p.end:
        step = timedelta(minutes=rng.choice([15, 30, 60, 90, 240]))
        intervals.append(Interval(t, t + step, D(rng.randint(0, 5000)) / 1000))
        t += step
    per_band, covered = split_by_band(tou(), intervals, p)
    inside = sum(
        (i.quantity * D((min(i.end, p.end) - i.start) / timedelta(seconds=1))
         / D((i.end - i.start) / timedelta(seconds=1)) for i in intervals),
        D(0),
    )
    assert abs(sum(per_band.values(), D(0)) - inside) < D("1e-20")
    assert covered == p.end.astimezone(UTC) - p.start.astimezone(UTC)


def test_standing_charge_full_dst_months_are_exactly_one_month():
    # March (a 23-hour day) and October (a 25-hour day) in Berlin: 31/31 of a month each
    rule = Rule(kind=STANDING, name="Standing", price=D("10.00"))
    for start, end in ((date(2026, 3, 1), date(2026, 4, 1)), (date(2026, 10, 1),
                                                              date(2026, 11, 1))):
        q = price(rules=[rule], period=period(start, end), settings=EUR)
        assert q.lines[0].quantity == 1 and amounts(q) == ["10.00"]


@pytest.mark.parametrize("seed", range(100))
def test_property_graduated_blocks_prorate_consistently(seed):
    # With quantities split in proportion to days, two parts of a billing period priced with
    # prorated blocks cost what the whole costs, up to rounding (limits to 0.001 unit, and
    # one minor unit per line).
    rng = random.Random(seed)
    cut = rng.randint(1, 29)
    first = period(date(2026, 4, 1), date(2026, 4, 1) + timedelta(days=cut))
    second = period(first.end.date(), date(2026, 5, 1))
    total = D(rng.randint(0, 10**6)) / 1000
    part = (total * cut / 30).quantize(D("0.001"))
    rule = Rule(kind=TIERED, name="Energy", meter_type="electricity", tiers=BLOCKS)
    whole = price(rules=[rule], period=APRIL, usage={"electricity": Usage(total=total)},
                  settings=EUR)
    a = price(rules=[rule], period=first, billing_period=APRIL,
              usage={"electricity": Usage(total=part)}, settings=EUR)
    b = price(rules=[rule], period=second, billing_period=APRIL,
              usage={"electricity": Usage(total=total - part)}, settings=EUR)
    lines = len(whole.lines) + len(a.lines) + len(b.lines)
    assert abs((a.net + b.net - whole.net).amount) <= D("0.01") * lines


# --- VAT per rate and cash rounding to the nearest step (issue 13 §1) ----------------------


def _three_standing(settings: Settings, rate: str = "8.1"):
    rules = [Rule(kind=STANDING, name=f"Fee {n}", price=D(p), per="day", tax_rate=D(rate))
             for n, p in enumerate(("10.05", "20.05", "30.05"))]
    one_day = period(date(2026, 4, 1), date(2026, 4, 2))
    return price(rules=rules, period=one_day, settings=settings)


def test_quote_vat_is_per_rate_on_the_net_rounded_once():
    q = _three_standing(Settings("CHF"))
    # 60.15 × 8.1 % = 4.87215 → 4.87 (rounded per line: 0.81 + 1.62 + 2.43 = 4.86)
    [row] = q.taxes
    assert (row.rate, row.net, row.tax) == (D("8.10"), Money("60.15", "CHF"),
                                            Money("4.87", "CHF"))
    assert q.tax == Money("4.87", "CHF")
    # each line carries its share; the shares add up to the rate's VAT
    assert sum(line.tax.amount for line in q.lines) == D("4.87")
    assert q.gross == Money("65.02", "CHF")


def test_combined_quotes_share_vat_over_all_lines():
    from tariffs.pricing import combine

    a = _three_standing(Settings("CHF"))
    b = _three_standing(Settings("CHF"))
    merged = combine([a, b], Settings("CHF"))
    # 120.30 × 8.1 % = 9.7443 → 9.74 (two quotes' 4.87 + 4.87 would be 9.74 too; lines add up)
    assert merged.tax == Money("9.74", "CHF")
    assert sum(line.tax.amount for line in merged.lines) == D("9.74")


@pytest.mark.parametrize(("gross", "expected"), [("57.32", "57.30"), ("57.33", "57.35")])
def test_cash_rounding_is_to_the_nearest_step_whatever_the_line_mode(gross, expected):
    from decimal import ROUND_DOWN

    settings = Settings("CHF", rounding=ROUND_DOWN, cash_rounding=D("0.05"))
    q = price(rules=[flat(gross)], period=APRIL, usage={"electricity": Usage(total=D("1"))},
              settings=settings)
    assert q.gross == Money(gross, "CHF")
    assert q.total == Money(expected, "CHF")
    assert q.cash_rounding == Money(D(expected) - D(gross), "CHF")
