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


def test_move_out_mid_period_bills_the_vacancy_to_the_owner(ctx):
    from tenants import services as tenant_services
    from tenants.models import Occupancy

    h = make_house(flat="0.30")
    mid = date(2026, 9, 16)
    tenant_services.occupancy_end(occupancy=Occupancy.objects.get(tenant=h.tenant),
                                  move_out=at(mid))
    read(h.meter, (at(SEP), "1100"), (at(mid), "1250"), (at(OCT), "1400"))
    preview = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT)
    tenant_inv, owner_inv = preview.invoices
    assert tenant_inv.tenant == h.tenant and owner_inv.tenant == h.owner
    # each half: standing 15/30 × 9.90 = 4.95 (VAT 0.9405 → 0.94); 150 kWh × 0.30 = 45.00
    # (VAT 8.55) → net 49.95, VAT 9.49, total 59.44
    for inv in (tenant_inv, owner_inv):
        assert [(x.amount, x.tax_amount) for x in inv.lines] == [
            (D("4.95"), D("0.94")), (D("45.00"), D("8.55"))
        ]
        assert inv.total == D("59.44")
    assert tenant_inv.lines[1].usage.end_value == D("1250")
    assert owner_inv.lines[1].usage.start_value == D("1250")


def test_meter_replacement_mid_period_bills_each_meter_from_its_own_readings(ctx):
    from meters import services as meter_services
    from meters.models import MeterAssignment

    h = make_house(flat="0.30")
    mid = date(2026, 9, 16)
    read(h.meter, (at(SEP), "1100"))
    new = meter_services.meter_create(type="electricity", serial_number=f"{h.meter.serial_number}N")
    meter_services.meter_replace(
        assignment=MeterAssignment.objects.get(meter=h.meter), new_meter=new,
        replaced_at=at(mid), final_reading=D("1250"), initial_reading=D("0"),
    )
    read(new, (at(OCT), "150"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # standing 9.90 (VAT 1.88); old meter 1100 → 1250 = 150 × 0.30 = 45.00 (VAT 8.55);
    # new meter 0 → 150 = 150 × 0.30 = 45.00 (VAT 8.55) → 99.90 net, 18.98 VAT
    assert [(x.amount, x.tax_amount) for x in inv.lines] == [
        (D("9.90"), D("1.88")), (D("45.00"), D("8.55")), (D("45.00"), D("8.55"))
    ]
    old_line, new_line = inv.lines[1], inv.lines[2]
    assert old_line.usage.meter_id == h.meter.pk and old_line.usage.end_value == D("1250")
    assert new_line.usage.meter_id == new.pk and new_line.usage.start_value == D("0")
    assert new_line.usage.end_value == D("150")
    assert (inv.net_total, inv.tax_total) == (D("99.90"), D("18.98"))


def test_price_change_mid_period_prices_each_part_with_its_version(ctx):
    from tariffs import services as tariff_services

    h = make_house(flat="0.30")
    mid = date(2026, 9, 16)
    v2 = tariff_services.rate_list_version_create(rate_list=h.rate_list, effective_from=mid)
    tariff_services.charge_rule_update(rule=v2.rules.get(name="Energy"), price=D("0.40"))
    read(h.meter, (at(SEP), "1100"), (at(mid), "1250"), (at(OCT), "1400"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # 1–15 Sep: standing 15/30 × 9.90 = 4.95 (VAT 0.94), 150 × 0.30 = 45.00 (VAT 8.55)
    # 16–30 Sep: standing 4.95 (VAT 0.94), 150 × 0.40 = 60.00 (VAT 11.40)
    assert [(x.amount, x.tax_amount) for x in inv.lines] == [
        (D("4.95"), D("0.94")), (D("45.00"), D("8.55")),
        (D("4.95"), D("0.94")), (D("60.00"), D("11.40")),
    ]
    assert inv.total == sum(x.amount + x.tax_amount for x in inv.lines) == D("136.73")


def test_tiers_and_standing_charge_prorate_for_a_partial_period(ctx):
    h = make_house(connected=date(2026, 9, 16))
    read(h.meter, (at(OCT), "1200"))  # 200 kWh in 15 days of a 30-day cycle
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # f = 15/30: standing 0.5 × 9.90 = 4.95; blocks 50 and 150 kWh:
    # 50 × 0.20 = 10.00, 100 × 0.25 = 25.00, 50 × 0.30 = 15.00
    assert [x.amount for x in inv.lines] == [D("4.95"), D("10.00"), D("25.00"), D("15.00")]
    assert [x.quantity for x in inv.lines[1:]] == [D("50"), D("100"), D("50")]


def test_estimated_end_reading_is_flagged_and_diagnosed(ctx):
    h = make_house(flat="0.30", connected=date(2026, 7, 1))
    read(h.meter, (at(date(2026, 8, 1)), "1310"), (at(date(2026, 8, 21)), "1510"),
         (at(SEP), "1620"), (at(date(2026, 9, 20)), "1810"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    usage = inv.lines[1].usage
    # the line shows the value it used at the period end (estimated), with the reading it
    # came from (20 Sep, 1810); start + quantity = end
    assert usage.estimated and usage.end_read_at == at(OCT) and usage.end_basis == "estimated"
    assert [x["value"] for x in usage.end_sources] == ["1810.0000"]
    assert usage.quantity > D("190")
    assert usage.end_value - usage.start_value == usage.quantity
    assert "estimated_end" in {d.code for d in inv.diagnostics}
    assert inv.can_bill  # a warning, not an error


def test_diagnostics_no_rate_no_email_and_no_meter(ctx):
    from meters import services as meter_services

    h = make_house(tenant_email="")
    water = meter_services.meter_create(type="cold_water", serial_number="W-diag")
    meter_services.meter_assign(billing_point=h.bp, meter=water, connected_at=at(date(2026, 8, 1)))
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1150"))
    read(water, (at(SEP), "10"), (at(OCT), "13"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    codes = {d.code: d for d in inv.diagnostics}
    assert "catch-all" in codes["no_rate"].message and "cold_water" in codes["no_rate"].message
    assert codes["tenant_without_email"].severity == "warning"
    empty = make_house()
    from meters.models import MeterAssignment
    MeterAssignment.objects.filter(billing_point=empty.bp).delete()
    [inv2] = services.invoice_preview(subscriptions=[empty.subscription], start=SEP,
                                      end=OCT).invoices
    assert "no_active_meter" in {d.code for d in inv2.diagnostics}
    assert [x.amount for x in inv2.lines] == [D("9.90")]  # fixed charges still billed


def test_add_ons_and_two_meter_types_with_different_taxes(ctx):
    from meters import services as meter_services
    from tariffs import services as tariff_services

    h = make_house(flat="0.30")
    water_list = tariff_services.rate_list_create(name="Water golden", currency="EUR",
                                                  effective_from=date(2026, 1, 1))
    tariff_services.charge_rule_create(version=water_list.versions.get(), name="Water",
                                       kind="flat", meter_type="cold_water", price=D("2.00"),
                                       tax_rate=D("7"))
    fee = tariff_services.add_on_save(name="Service fee golden", currency="EUR",
                                      price=D("4.90"), per="month", tax_rate=D("19"))
    rental = tariff_services.add_on_save(name="Rental golden", currency="EUR", price=D("2.50"),
                                         per="month", meter_type="electricity",
                                         tax_rate=D("19"))
    tariff_services.plan_save(plan=h.plan, name=h.plan.name,
                              rate_lists=[h.rate_list, water_list], add_ons=[fee, rental])
    water = meter_services.meter_create(type="cold_water", serial_number="W-golden")
    meter_services.meter_assign(billing_point=h.bp, meter=water, connected_at=at(date(2026, 8, 1)))
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    read(water, (at(SEP), "5"), (at(OCT), "15"))
    h.subscription.refresh_from_db()
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    got = sorted((x.charge, x.amount, x.tax_amount) for x in inv.lines)
    # standing 9.90 (19 %: 1.88); service fee 4.90 (0.931 → 0.93); rental 2.50 (0.475 → 0.48)
    # electricity 300 × 0.30 = 90.00 (17.10); water 10 m³ × 2.00 = 20.00 at 7 % (1.40)
    assert got == sorted([
        ("Standing charge", D("9.90"), D("1.88")), ("Service fee golden", D("4.90"), D("0.93")),
        ("Rental golden", D("2.50"), D("0.48")), ("Energy", D("90.00"), D("17.10")),
        ("Water", D("20.00"), D("1.40")),
    ])
    # net 127.30, VAT 21.79, total 149.09 (sums of the rounded lines)
    assert (inv.net_total, inv.tax_total, inv.total) == (D("127.30"), D("21.79"), D("149.09"))


def test_cash_rounding_is_an_amount_after_the_total_not_a_line(ctx):
    h = make_house(flat="0.30", cash_rounding="0.05")
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # 9.90 + 90.00 = 99.90 net; VAT 19 % = 18.981 → 18.98; gross 118.88 → 118.90 (+0.02)
    # (the old expectation, a "rounding" line of +0.02 inside the net, put cash rounding
    # inside the net; the rule puts it after the total)
    assert [x.kind for x in inv.lines] == ["standing", "usage"]
    assert (inv.net_total, inv.tax_total, inv.cash_rounding, inv.total) == (
        D("99.90"), D("18.98"), D("0.02"), D("118.90"))


# --- issue 13 §1: VAT per rate, cash rounding to the nearest step ----------------------------


def _charge(h, name: str, price: str, tax: str) -> None:
    from tariffs import services as tariff_services

    tariff_services.charge_rule_create(version=h.version, name=name, kind="standing",
                                       price=D(price), per="month", tax_rate=D(tax))


def _draft(h):
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    return inv


def test_golden_vat_per_rate_on_the_net_rounded_once(ctx):
    # 50 kWh × 0.201 = 10.05; two monthly charges 20.05 and 30.05; all at 8.1 %
    h = make_house(standing=False, flat="0.201", tax_rate="8.1", currency="CHF")
    _charge(h, "Grid", "20.05", "8.1")
    _charge(h, "Service", "30.05", "8.1")
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1150"))
    inv = _draft(h)
    assert sorted(x.amount for x in inv.lines) == [D("10.05"), D("20.05"), D("30.05")]
    # 60.15 × 8.1 % = 4.87215 → 4.87 (per line 0.81 + 1.62 + 2.43 would be 4.86)
    [row] = inv.vat_summary
    assert (row.rate, row.base, row.vat) == (D("8.10"), D("60.15"), D("4.87"))
    assert (inv.net_total, inv.tax_total, inv.total) == (D("60.15"), D("4.87"), D("65.02"))
    assert sum(x.tax_amount for x in inv.lines) == D("4.87")  # the lines' shares add up


@pytest.mark.parametrize(("kwh", "gross", "cash", "total"), [
    ("5732", "57.32", "-0.02", "57.30"),
    ("5733", "57.33", "0.02", "57.35"),
])
def test_golden_cash_rounding_to_the_nearest_step_with_round_down_lines(ctx, kwh, gross, cash,
                                                                      total):
    # lines rounded ROUND_DOWN; cash rounding CHF 0.05 to the *nearest* step regardless
    h = make_house(standing=False, flat="0.01", tax_rate="0", currency="CHF",
                   cash_rounding="0.05", rounding_mode="ROUND_DOWN", initial="1000")
    read(h.meter, (at(SEP), "1000"), (at(OCT), str(1000 + int(kwh))))
    inv = _draft(h)
    assert inv.net_total + inv.tax_total == D(gross)
    assert (inv.cash_rounding, inv.total) == (D(cash), D(total))


def test_golden_two_vat_rates_on_one_invoice(ctx):
    # energy 300 kWh × 0.2712 = 81.36 at 8.1 %: 6.59016 → 6.59
    # a monthly charge 33.33 at 2.6 %: 0.86658 → 0.87
    h = make_house(standing=False, flat="0.2712", tax_rate="8.1", currency="CHF",
                   cash_rounding="0.05")
    _charge(h, "Water service", "33.33", "2.6")
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    inv = _draft(h)
    assert [(r.rate, r.base, r.vat) for r in inv.vat_summary] == [
        (D("2.60"), D("33.33"), D("0.87")), (D("8.10"), D("81.36"), D("6.59"))]
    # net 114.69 + VAT 7.46 = 122.15 (already a multiple of 0.05)
    assert (inv.net_total, inv.tax_total, inv.cash_rounding, inv.total) == (
        D("114.69"), D("7.46"), D("0"), D("122.15"))


def test_renaming_a_rate_list_does_not_change_the_total(ctx):
    from tariffs import services as tariff_services

    h = make_house(flat="0.30", currency="CHF", cash_rounding="0.05")
    fees = tariff_services.rate_list_create(name="AAA fees", currency="CHF",
                                            effective_from=date(2026, 1, 1))
    tariff_services.charge_rule_create(version=fees.versions.get(), name="Fee", kind="standing",
                                       price=D("1.01"), per="month", tax_rate=D("0"))
    tariff_services.plan_save(plan=h.plan, name=h.plan.name, rate_lists=[h.rate_list, fees])
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    before = _draft(h).total
    tariff_services.rate_list_update(rate_list=fees, name="ZZZ fees")
    h.subscription.refresh_from_db()
    assert _draft(h).total == before
    # 9.90 + 90 + 1.01 = 100.91; VAT 19 % on 99.90 = 18.981 → 18.98; 119.89 → 119.90
    assert before == D("119.90")


def test_register_rollover(ctx):
    h = make_house(flat="0.30", initial="9800", register_digits=4)
    read(h.meter, (at(SEP), "9900"), (at(OCT), "0100"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # 9900 → 9999 → 0000 → 0100 = 200 kWh × 0.30 = 60.00
    assert inv.lines[1].quantity == D("200") and inv.lines[1].amount == D("60.00")


def test_a_meter_removed_before_the_period_is_not_billed(ctx):
    from meters import services as meter_services
    from meters.models import MeterAssignment

    h = make_house(flat="0.30")
    meter_services.meter_remove(assignment=MeterAssignment.objects.get(meter=h.meter),
                                removed_at=at(date(2026, 8, 20)), final_reading=D("1050"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    assert [x.kind for x in inv.lines] == ["standing"]
    assert "no_active_meter" in {d.code for d in inv.diagnostics}


def test_preview_queries_do_not_grow_with_subscriptions(ctx, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    subs = []
    for _ in range(6):
        h = make_house(flat="0.30")
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        subs.append(h.subscription)
    with CaptureQueriesContext(connection) as one:
        services.invoice_preview(subscriptions=subs[:1], start=SEP, end=OCT)
    with django_assert_max_num_queries(len(one.captured_queries)):
        preview = services.invoice_preview(subscriptions=subs, start=SEP, end=OCT)
    assert len(preview.invoices) == 6 and all(inv.total == D("118.88") for inv in preview.invoices)


TOU_BANDS = [
    {"name": "Peak", "days": ["weekday"], "start": "07:00", "end": "20:00", "price": "0.32"},
    {"name": "Off-peak", "days": ["weekday"], "start": "20:00", "end": "07:00", "price": "0.21"},
    {"name": "Weekend", "days": ["weekend", "holiday"], "start": "00:00", "end": "00:00",
     "price": "0.19"},
]


def test_time_of_use_priced_from_hourly_readings_and_refused_from_daily_ones(ctx):
    from datetime import timedelta

    from tariffs import services as tariff_services

    h = make_house(flat="0.30", standing=False)
    energy = h.version.rules.get(name="Energy")
    tariff_services.charge_rule_update(rule=energy, kind="time_of_use", bands=TOU_BANDS,
                                       price=None)
    monday, tuesday = date(2026, 9, 7), date(2026, 9, 8)
    start = at(monday)
    read(h.meter, *[(start + timedelta(hours=n), str(1100 + n)) for n in range(25)])
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=monday,
                                     end=tuesday).invoices
    # 1 kWh an hour on a Monday: peak 07–20 = 13 kWh × 0.32 = 4.16 (VAT 0.7904 → 0.79);
    # off-peak 00–07 and 20–24 = 11 kWh × 0.21 = 2.31 (VAT 0.4389 → 0.44)
    assert sorted((x.quantity, x.amount, x.tax_amount) for x in inv.lines) == [
        (D("11"), D("2.31"), D("0.44")), (D("13"), D("4.16"), D("0.79"))
    ]
    assert inv.can_bill
    [daily] = services.invoice_preview(subscriptions=[h.subscription], start=SEP,
                                       end=monday).invoices
    assert "tou_no_interval_data" in {d.code for d in daily.diagnostics}
    assert not daily.can_bill


def test_minimum_charge_and_allowance_prorated(ctx):
    from tariffs import services as tariff_services

    h = make_house(flat="0.30", standing=False, connected=date(2026, 9, 16))
    energy = h.version.rules.get(name="Energy")
    tariff_services.charge_rule_update(rule=energy, allowance=D("50"), minimum_charge=D("20"))
    read(h.meter, (at(OCT), "1060"))  # 60 kWh in 15 of 30 days: f = 1/2
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # allowance 50 × 1/2 = 25 kWh free (a zero line); 35 kWh × 0.30 = 10.50;
    # minimum 20 × 1/2 = 10.00 is reached, so no top-up
    assert [(x.quantity, x.amount) for x in inv.lines] == [(D("25"), D("0.00")),
                                                           (D("35"), D("10.50"))]
    read(h.meter, (at(date(2026, 10, 16)), "1070"))  # 10 kWh in 15 days of October
    [low] = services.invoice_preview(subscriptions=[h.subscription], start=OCT,
                                     end=date(2026, 10, 16)).invoices
    # f = 15/15 = 1 (the period is the cycle): the allowance (10 of 50 kWh free) and
    # 0 chargeable kWh × 0.30 = 0.00; minimum 20.00 tops up 20.00 − 0.00 (VAT 3.80)
    assert [(x.kind, x.quantity, x.amount, x.tax_amount) for x in low.lines] == [
        ("usage", D("10"), D("0.00"), D("0.00")), ("usage", D("0"), D("0.00"), D("0.00")),
        ("minimum", D("1"), D("20.00"), D("3.80")),
    ]


def test_a_billing_points_own_rate_list_overrides_its_plan(ctx):
    from tariffs import services as tariff_services

    h = make_house(flat="0.30")
    own = tariff_services.rate_list_create(name="Own power", currency="EUR",
                                           effective_from=date(2026, 1, 1))
    tariff_services.charge_rule_create(version=own.versions.get(), name="Own energy",
                                       kind="flat", meter_type="electricity", price=D("0.50"),
                                       tax_rate=D("19"))
    tariff_services.billing_point_rate_list_set(billing_point=h.bp, rate_list=own,
                                                meter_type="electricity")
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1200"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # the override prices electricity: 100 × 0.50 = 50.00 (VAT 9.50); its list has no
    # standing charge, and the plan's list is not used for electricity any more
    assert [(x.description, x.amount, x.tax_amount) for x in inv.lines] == [
        ("Own energy, 1–30 Sep 2026: 100 kWh × 0.5000", D("50.00"), D("9.50"))
    ]


def test_standing_charges_of_two_rate_lists_with_the_same_rule_name_both_count(ctx):
    from meters import services as meter_services
    from tariffs import services as tariff_services

    h = make_house(flat="0.30")
    water_list = tariff_services.rate_list_create(name="Water standing", currency="EUR",
                                                  effective_from=date(2026, 1, 1))
    v = water_list.versions.get()
    tariff_services.charge_rule_create(version=v, name="Standing charge", kind="standing",
                                       price=D("3.00"), per="month", tax_rate=D("7"))
    tariff_services.charge_rule_create(version=v, name="Water", kind="flat",
                                       meter_type="cold_water", price=D("2.00"), tax_rate=D("7"))
    tariff_services.plan_save(plan=h.plan, name=h.plan.name,
                              rate_lists=[h.rate_list, water_list])
    water = meter_services.meter_create(type="cold_water", serial_number="W-standing")
    meter_services.meter_assign(billing_point=h.bp, meter=water, connected_at=at(date(2026, 8, 1)))
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1100"))
    read(water, (at(SEP), "5"), (at(OCT), "5"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    standing = sorted(x.amount for x in inv.lines if x.kind == "standing")
    # electricity list 9.90 and water list 3.00, one month each
    assert standing == [D("3.00"), D("9.90")]


def test_a_fixed_fees_rate_list_is_charged_besides_the_metered_ones(ctx):
    from tariffs import services as tariff_services

    h = make_house(flat="0.30", standing=False)
    fees = tariff_services.rate_list_create(name="Service fees", currency="EUR",
                                            effective_from=date(2026, 1, 1))
    tariff_services.charge_rule_create(version=fees.versions.get(), name="Administration",
                                       kind="standing", price=D("6.00"), per="month",
                                       tax_rate=D("19"))
    v2 = tariff_services.rate_list_version_create(rate_list=fees, effective_from=date(2026, 9, 16))
    tariff_services.charge_rule_update(rule=v2.rules.get(), price=D("8.00"))
    tariff_services.plan_save(plan=h.plan, name=h.plan.name, rate_lists=[h.rate_list, fees])
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1100"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # 15/30 × 6.00 = 3.00 and, after the price change on the 16th, 15/30 × 8.00 = 4.00
    assert sorted(x.amount for x in inv.lines if x.kind == "standing") == [D("3.00"), D("4.00")]


def test_volume_blocks_prorate_for_a_partial_period(ctx):
    # connected on 21 September: 10 days of the 30-day September cycle, f = 10/30 = 1/3
    h = make_house(connected=date(2026, 9, 21), kind="volume")
    read(h.meter, (at(OCT), "1100"))  # 1000 → 1100 = 100 kWh
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # block limits × 1/3, rounded to 0.001 kWh: 100 → 33.333, 300 → 100.000, then open.
    # Volume: all 100 kWh at the price of the block reached; 100 is exactly at the limit
    # 100.000 and stays in that (second) block: 100 × 0.25 = 25.00 (VAT 4.75).
    # (A whole month would have priced the same 100 kWh in the first block at 0.20.)
    # standing 10/30 × 9.90 = 3.30 (VAT 0.627 → 0.63)
    # net 3.30 + 25.00 = 28.30; VAT 0.63 + 4.75 = 5.38; total 33.68
    assert [(x.kind, x.quantity, x.amount, x.tax_amount) for x in inv.lines] == [
        ("standing", D("10") / 30, D("3.30"), D("0.63")),
        ("usage", D("100"), D("25.00"), D("4.75")),
    ]
    assert inv.lines[1].unit_price == D("0.25")
    assert (inv.net_total, inv.tax_total, inv.total) == (D("28.30"), D("5.38"), D("33.68"))


DAY_NIGHT_BANDS = [
    {"name": "Night", "days": ["weekday", "weekend", "holiday"], "start": "00:00",
     "end": "06:00", "price": "0.21"},
    {"name": "Day", "days": ["weekday", "weekend", "holiday"], "start": "06:00",
     "end": "00:00", "price": "0.32"},
]


# 25 October 2026 (25 hours; clocks go back 03:00 → 02:00, so 02:00–03:00 happens twice):
#   night 00–06 local = 7 real hours → 7 × 0.21 = 1.47 (VAT 0.2793 → 0.28);
#   day 06–24 = 18 hours → 18 × 0.32 = 5.76 (VAT 1.0944 → 1.09);
#   net 1.47 + 5.76 = 7.23, VAT 0.28 + 1.09 = 1.37, total 8.60
# 29 March 2026 (23 hours; clocks go forward 02:00 → 03:00, so 02:00–03:00 never happens):
#   night 00–06 local = 5 real hours → 5 × 0.21 = 1.05 (VAT 0.1995 → 0.20);
#   day 18 × 0.32 = 5.76 (VAT 1.09); net 1.05 + 5.76 = 6.81, VAT 0.20 + 1.09 = 1.29,
#   total 8.10
@pytest.mark.parametrize("day, hours, night, totals", [
    (date(2026, 10, 25), 25, (D("7"), D("1.47"), D("0.28")), (D("7.23"), D("1.37"), D("8.60"))),
    (date(2026, 3, 29), 23, (D("5"), D("1.05"), D("0.20")), (D("6.81"), D("1.29"), D("8.10"))),
])
def test_time_of_use_across_a_dst_change(ctx, day, hours, night, totals):
    from datetime import UTC, timedelta

    from tariffs import services as tariff_services

    h = make_house(flat="0.30", standing=False, connected=date(2026, 3, 1))
    tariff_services.charge_rule_update(rule=h.version.rules.get(name="Energy"),
                                       kind="time_of_use", bands=DAY_NIGHT_BANDS, price=None)
    # a reading every real hour (counted in UTC) from local midnight to the next local
    # midnight: 1 kWh an hour
    start = at(day).astimezone(UTC)
    assert at(day + timedelta(days=1)).astimezone(UTC) - start == timedelta(hours=hours)
    read(h.meter, *[(start + timedelta(hours=n), str(1100 + n)) for n in range(hours + 1)])
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=day,
                                     end=day + timedelta(days=1)).invoices
    assert [(x.quantity, x.amount, x.tax_amount) for x in inv.lines] == [
        night, (D("18"), D("5.76"), D("1.09")),
    ]
    assert (inv.net_total, inv.tax_total, inv.total) == totals
    assert inv.can_bill
    assert "tou_incomplete_interval_data" not in {d.code for d in inv.diagnostics}


# --- issue 13 §3: estimates and what a line shows ------------------------------------------


def test_golden_interpolated_start_is_flagged_and_shown(ctx, world_a):
    """A tenant moving in on 16 Sep, readings only on 1 Sep (1100) and 1 Oct (1400): their
    start is interpolated, 1100 + 300 × 15/30 = 1250, not the reading of the 1st."""
    from tenants import services as tenant_services
    from tenants.models import Occupancy
    from tests.conftest import api_client

    h = make_house(flat="0.30")
    mid = date(2026, 9, 16)
    tenant_services.occupancy_end(occupancy=Occupancy.objects.get(tenant=h.tenant),
                                  move_out=at(mid))
    newcomer = tenant_services.tenant_create(name="Newcomer", email="new@example.com")
    tenant_services.occupancy_create(tenant=newcomer, billing_point=h.bp, move_in=at(mid))
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    preview = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT)
    [inv] = [i for i in preview.invoices if i.tenant == newcomer]
    [line] = [x for x in inv.lines if x.kind == "usage"]
    u = line.usage
    assert (u.start_value, u.start_read_at, u.start_basis) == (D("1250"), at(mid),
                                                                "interpolated")
    assert [x["value"] for x in u.start_sources] == ["1100.0000", "1400.0000"]
    assert (u.end_value, u.end_read_at, u.end_basis) == (D("1400"), at(OCT), "read")
    assert (u.end_value - u.start_value) * 1 == u.quantity == line.quantity == D("150")
    assert u.estimated and "estimated_start" in {d.code for d in inv.diagnostics}
    # 150 kWh × 0.30 = 45.00
    assert line.amount == D("45.00")
    # the outgoing tenant's end is the same interpolated value, flagged too
    [old] = [i for i in preview.invoices if i.tenant == h.tenant]
    [old_usage] = [x.usage for x in old.lines if x.kind == "usage"]
    assert old_usage.end_value == D("1250") and old_usage.estimated
    # the consumption API agrees with the line for the same meter and period
    body = api_client(key=world_a.read_key).get("/api/v1/readings/consumption/", {
        "meter": h.meter.serial_number, "from": at(mid).isoformat(), "to": at(OCT).isoformat(),
    }).json()
    assert D(body["quantity"]) == D("150") and body["estimated"] is True
    [seg] = body["segments"]
    assert (D(seg["start"]["value"]), seg["start"]["basis"]) == (D("1250"), "interpolated")
    assert [D(r["value"]) for r in seg["start"]["readings"]] == [D("1100"), D("1400")]
    assert D(seg["end"]["value"]) == D("1400") and seg["estimated"] is True


def test_readings_at_the_boundaries_are_read_not_flagged(ctx, world_a):
    from tests.conftest import api_client

    h = make_house(flat="0.30")
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    u = inv.lines[1].usage
    assert (u.start_basis, u.end_basis, u.estimated) == ("read", "read", False)
    body = api_client(key=world_a.read_key).get("/api/v1/readings/consumption/", {
        "meter": h.meter.serial_number, "from": at(SEP).isoformat(), "to": at(OCT).isoformat(),
    }).json()
    assert body["estimated"] is False and D(body["quantity"]) == D("300")


def test_rollover_line_says_why_end_minus_start_is_not_the_quantity(ctx):
    h = make_house(flat="0.30", initial="9800", register_digits=4)
    read(h.meter, (at(SEP), "9900"), (at(OCT), "0100"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    u = inv.lines[1].usage
    assert (u.start_value, u.end_value, u.quantity) == (D("9900"), D("100"), D("200"))
    assert "rolled over at 10000" in u.note


def test_rollover_note_shows_register_values_as_people_read_them(ctx):
    """Stored values carry four places (9900.0000); the note reads as the register does."""
    h = make_house(flat="0.30", initial="9800", register_digits=4)
    read(h.meter, (at(SEP), "9900"), (at(OCT), "0050.5"))
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP, end=OCT).invoices
    # 9900 → 9999.9… → 0 → 50.5: 50.5 + 10000 − 9900 = 150.5 kWh
    assert inv.lines[1].usage.note == (
        "The register rolled over at 10000: (50.5 + 10000 − 9900) × 1 = 150.5")
