"""VAT per rate and cash rounding, from the law's rule and hand arithmetic (no database)."""

from decimal import Decimal as D

import pytest

from tariffs.pricing.vat import cash_round, vat_per_line, vat_summary, vat_total


def test_vat_is_per_rate_on_the_net_rounded_once():
    lines = [(D("8.1"), D("10.05")), (D("8.1"), D("20.05")), (D("8.1"), D("30.05"))]
    (row,) = vat_summary(lines, currency="CHF")
    # 60.15 × 8.1 % = 4.87215 → 4.87 (per line: 0.81 + 1.62 + 2.43 = 4.86)
    assert (row.rate, row.base, row.vat) == (D("8.10"), D("60.15"), D("4.87"))


def test_summary_has_one_row_per_rate_ascending():
    lines = [(D("8.1"), D("100.00")), (D("2.6"), D("33.33")), (D("0"), D("5.00"))]
    rows = vat_summary(lines, currency="CHF")
    assert [(r.rate, r.base, r.vat) for r in rows] == [
        (D("0.00"), D("5.00"), D("0.00")),
        (D("2.60"), D("33.33"), D("0.87")),  # 0.86658
        (D("8.10"), D("100.00"), D("8.10")),
    ]
    assert vat_total(rows) == D("8.97")


def test_line_shares_add_up_to_the_rate():
    lines = [(D("8.1"), D("10.05")), (D("8.1"), D("20.05")), (D("8.1"), D("30.05")),
             (D("2.6"), D("1.00"))]
    shares = vat_per_line(lines, currency="CHF")
    assert sum(shares[:3]) == D("4.87")
    assert shares[3] == D("0.03")  # 0.026 → 0.03
    # every line leaves 0.00405 over; the tie goes to the largest line (30.05 → 2.44)
    assert shares[:3] == [D("0.81"), D("1.62"), D("2.44")]


def test_negative_lines_share_negative_vat():
    lines = [(D("8.1"), D("-10.05")), (D("8.1"), D("-20.05")), (D("8.1"), D("-30.05"))]
    shares = vat_per_line(lines, currency="CHF")
    assert sum(shares) == D("-4.87")


@pytest.mark.parametrize(("gross", "expected"), [
    (D("57.32"), D("-0.02")), (D("57.33"), D("0.02")), (D("57.325"), D("0.025")),
    (D("57.30"), D("0.00")), (D("57.375"), D("0.025")), (D("-57.33"), D("-0.02")),
])
def test_cash_rounding_goes_to_the_nearest_step(gross, expected):
    # the difference is stored to the minor unit; gross here may carry a half cent only
    # in the parametrised edge cases, which round half up on the step
    got = cash_round(gross, D("0.05"), currency="CHF")
    assert got == expected.quantize(D("0.01"), rounding="ROUND_HALF_UP")


def test_no_step_no_rounding():
    assert cash_round(D("57.32"), None, currency="CHF") == D("0")


def test_minor_units_follow_the_currency():
    (row,) = vat_summary([(D("10"), D("1005"))], currency="JPY")
    assert row.vat == D("101")  # 1005 × 10 % = 100.5 → 101 (yen have no minor unit)
