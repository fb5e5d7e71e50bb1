"""Services of tariffs against real PostgreSQL: every bad input names its field and changes
nothing; versions never overlap; the override → plan resolution of ``rate_list_for``."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from billspree.core.errors import Conflict
from billspree.core.scoping import organization_context
from meters.models import MeterType
from tariffs import selectors, services
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    ChargeRule,
    Holiday,
    HolidayCalendar,
    Plan,
    PlanVariant,
    PricingTemplate,
    RateList,
    RateListVersion,
)
from tests.tariffs.factories import TIERS, TOU_BANDS

MODELS = (RateList, RateListVersion, ChargeRule, HolidayCalendar, Holiday, AddOn, Plan,
          PlanVariant, PricingTemplate, BillingPointRateList)


def state() -> list:
    rows = []
    for model in MODELS:
        rows.append(sorted(map(repr, model.objects.order_by("pk").values())))
    rows.append(sorted(Plan.rate_lists.through.objects.values_list("plan_id", "ratelist_id")))
    return rows


def rejected(call, field: str, contains: str = "") -> ValidationError:
    before = state()
    with pytest.raises(ValidationError) as info, transaction.atomic():
        call()
    errors = info.value.message_dict
    assert field in errors, errors
    if contains:
        assert any(contains in m for m in errors[field]), errors[field]
    assert state() == before, "a rejected call changed data"
    return info.value


@pytest.fixture
def rl(tariffs_a):
    return tariffs_a.objects["rate_list"]


@pytest.fixture
def version(rl):
    return rl.versions.order_by("-number").first()


# --- rate lists ----------------------------------------------------------------------------


def test_rate_list_create_makes_first_open_version(tariffs_a):
    rate_list = services.rate_list_create(name="Water", currency="EUR",
                                          effective_from=date(2026, 1, 1))
    (v,) = rate_list.versions.all()
    assert (v.number, v.effective_from, v.effective_to) == (1, date(2026, 1, 1), None)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": ""}, "name"),
    ({"currency": "XXX"}, "currency"),
    ({"currency": ""}, "currency"),
    ({"rounding_mode": "ROUND_SOMETIMES"}, "rounding_mode"),
    ({"effective_from": "soon"}, "effective_from"),
])
def test_rate_list_create_bad_input(tariffs_a, kwargs, field):
    args = {"name": "Gas", "currency": "EUR", "effective_from": date(2026, 1, 1), **kwargs}
    rejected(lambda: services.rate_list_create(**args), field)


def test_rate_list_name_unique(tariffs_a, rl):
    rejected(lambda: services.rate_list_create(name=rl.name, currency="EUR",
                                               effective_from=date(2026, 1, 1)),
             "name", "already exists")


def test_rate_list_currency_is_fixed(rl):
    rejected(lambda: services.rate_list_update(rate_list=rl, currency="CHF"), "currency", "fixed")
    services.rate_list_update(rate_list=rl, currency="EUR", name="Renamed")
    rl.refresh_from_db()
    assert rl.name == "Renamed"


def test_rate_list_update_unknown_field(rl):
    rejected(lambda: services.rate_list_update(rate_list=rl, organization=None), "organization")


def test_rate_list_in_a_plan_cannot_be_deleted(rl):
    before = state()
    with pytest.raises(Conflict):
        services.rate_list_delete(rate_list=rl)
    assert state() == before


# --- versions ------------------------------------------------------------------------------


def test_new_version_closes_previous_and_copies_rules(rl, version):
    assert version.number == 2 and version.effective_to is None
    names = sorted(version.rules.values_list("name", flat=True))
    v3 = services.rate_list_version_create(rate_list=rl, effective_from=date(2026, 7, 1),
                                           note="Summer prices")
    version.refresh_from_db()
    assert version.effective_to == date(2026, 7, 1)
    assert (v3.number, v3.effective_from, v3.effective_to) == (3, date(2026, 7, 1), None)
    assert sorted(v3.rules.values_list("name", flat=True)) == names
    # the copies are new rows: changing v3 leaves history alone
    rule = v3.rules.get(kind="time_of_use")
    services.charge_rule_update(rule=rule, tax_rate=Decimal("7"))
    assert version.rules.get(kind="time_of_use").tax_rate == Decimal("19")
    assert [v.number for v in rl.versions.order_by("effective_from")] == [1, 2, 3]


def test_version_history_resolves_by_date(rl):
    assert rl.version_at(date(2025, 6, 1)).number == 1
    assert rl.version_at(date(2026, 1, 1)).number == 2
    assert rl.version_at(date(2024, 12, 31)) is None


@pytest.mark.parametrize("day", [date(2026, 1, 1), date(2025, 6, 1), date(2020, 1, 1)])
def test_version_cannot_start_before_or_on_the_latest(rl, day):
    rejected(lambda: services.rate_list_version_create(rate_list=rl, effective_from=day),
             "effective_from", "Must be after 2026-01-01")


def test_database_refuses_overlapping_versions(rl):
    with pytest.raises(IntegrityError), transaction.atomic():
        RateListVersion.objects.create(rate_list=rl, number=9, effective_from=date(2025, 3, 1),
                                       effective_to=date(2025, 4, 1))


def test_database_refuses_version_ending_before_start(rl):
    with pytest.raises(IntegrityError), transaction.atomic():
        RateListVersion.objects.create(rate_list=rl, number=9, effective_from=date(2030, 3, 1),
                                       effective_to=date(2030, 2, 1))


@pytest.mark.django_db(transaction=True)
def test_concurrent_version_creation_never_overlaps(world_a):
    with organization_context(world_a.org):
        rl = services.rate_list_create(name="Race", currency="EUR",
                                       effective_from=date(2026, 1, 1))
    barrier = threading.Barrier(4)
    results: list = []

    def run(day: date) -> None:
        try:
            with organization_context(world_a.org):
                barrier.wait()
                v = services.rate_list_version_create(rate_list=rl, effective_from=day)
                results.append(v.effective_from)
        except (ValidationError, Conflict) as exc:
            results.append(type(exc).__name__)
        finally:
            connection.close()

    days = [date(2026, 2, 1), date(2026, 3, 1), date(2026, 3, 1), date(2026, 4, 1)]
    threads = [threading.Thread(target=run, args=(d,)) for d in days]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with organization_context(world_a.org):
        versions = list(rl.versions.order_by("effective_from"))
    # whatever the interleaving: contiguous, one open version, numbers 1..n
    for a, b in zip(versions, versions[1:], strict=False):
        assert a.effective_to == b.effective_from
    assert [v.effective_to is None for v in versions].count(True) == 1
    assert [v.number for v in versions] == list(range(1, len(versions) + 1))
    assert len(versions) == 1 + sum(isinstance(r, date) for r in results)


def test_rate_list_update_with_end_is_one_write(rl, version):
    services.rate_list_update(rate_list=rl, name="Ends", effective_to=date(2027, 1, 1))
    rl.refresh_from_db()
    version.refresh_from_db()
    assert (rl.name, version.effective_to) == ("Ends", date(2027, 1, 1))
    # a valid end with a bad field (or the reverse) writes neither, with no caller's
    # transaction around it
    before = state()
    with pytest.raises(ValidationError) as info:
        services.rate_list_update(rate_list=rl, name=" ", effective_to=date(2028, 1, 1))
    assert "name" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.rate_list_update(rate_list=rl, name="Other", effective_to=date(2026, 1, 1))
    assert "Must be after 2026-01-01" in info.value.message_dict["effective_to"][0]
    assert state() == before
    rl.refresh_from_db()
    version.refresh_from_db()
    assert (rl.name, version.effective_to) == ("Ends", date(2027, 1, 1))
    # only the end: the other fields stay as they are
    services.rate_list_update(rate_list=rl, effective_to=None)
    version.refresh_from_db()
    assert version.effective_to is None


def test_rate_list_end_and_reopen(rl, version):
    services.rate_list_end(rate_list=rl, effective_to=date(2027, 1, 1))
    version.refresh_from_db()
    assert version.effective_to == date(2027, 1, 1)
    assert rl.version_at(date(2027, 1, 1)) is None
    rejected(lambda: services.rate_list_end(rate_list=rl, effective_to=date(2026, 1, 1)),
             "effective_to", "Must be after 2026-01-01")
    services.rate_list_end(rate_list=rl, effective_to=None)
    version.refresh_from_db()
    assert version.effective_to is None


def test_undo_latest_price_change(rl, version):
    v1 = rl.versions.get(number=1)
    before = state()
    with pytest.raises(Conflict):
        services.rate_list_version_delete(version=v1)  # not the latest
    assert state() == before
    services.rate_list_version_delete(version=version)
    v1.refresh_from_db()
    assert v1.effective_to is None and rl.versions.count() == 1
    with pytest.raises(Conflict):
        services.rate_list_version_delete(version=v1)  # the last one left


# --- charge rules --------------------------------------------------------------------------


def test_charge_rule_defaults_unit_from_meter_type(version):
    rule = services.charge_rule_create(version=version, name="Water", kind="flat",
                                       meter_type=MeterType.COLD_WATER, price="2.10")
    assert rule.unit == "m³" and rule.price == Decimal("2.10")


BAD_RULES = [
    ({"name": ""}, "name", "name"),
    ({"kind": "discount"}, "kind", "Choose"),
    ({"meter_type": ""}, "meter_type", "needs the meter type"),
    ({"meter_type": "steam"}, "meter_type", "Unknown"),
    ({"price": "-1"}, "price", "0 or more"),
    ({"price": "abc"}, "price", "not a number"),
    ({"price": "NaN"}, "price", "not a number"),
    ({"kind": "flat", "price": None}, "price", "Enter a number"),
    ({"tax_rate": "120"}, "tax_rate", "between 0 and 100"),
    ({"tax_rate": "-5"}, "tax_rate", "0 or more"),
    ({"allowance": "-3"}, "allowance", "0 or more"),
    ({"minimum_charge": "-1"}, "minimum_charge", "0 or more"),
    ({"kind": "standing", "minimum_charge": "5", "price": "1"}, "minimum_charge", "no minimum"),
    ({"kind": "time_of_use", "bands": TOU_BANDS, "allowance": "5"}, "allowance", "applies to"),
    ({"kind": "tiered", "tiers": []}, "tiers", "at least one"),
    ({"kind": "tiered", "tiers": [{"up_to": "100", "price": "0.2"},
                                  {"up_to": "50", "price": "0.3"},
                                  {"up_to": None, "price": "0.4"}]}, "tiers", "Row 2"),
    ({"kind": "tiered", "tiers": [{"up_to": "100", "price": "0.2"},
                                  {"up_to": "100", "price": "0.3"},
                                  {"up_to": None, "price": "0.4"}]}, "tiers", "ascend"),
    ({"kind": "tiered", "tiers": [{"up_to": "100", "price": "0.2"},
                                  {"up_to": "200", "price": "0.3"}]}, "tiers", "open-ended"),
    ({"kind": "volume", "tiers": [{"up_to": None, "price": "0.2"},
                                  {"up_to": None, "price": "0.3"}]}, "tiers", "only the last"),
    ({"kind": "tiered", "tiers": [{"up_to": "100", "price": "-0.2"},
                                  {"up_to": None, "price": "0.3"}]}, "tiers", "Row 1 price"),
    ({"kind": "tiered", "tiers": [{"up_to": "100", "price": "0.2"},
                                  {"from": "120", "up_to": None, "price": "0.3"}]},
     "tiers", "contiguous"),
    ({"kind": "tiered", "tiers": ["100"]}, "tiers", "expected an object"),
    ({"kind": "flat", "price": "1", "tiers": TIERS}, "tiers", "Only tiered and volume"),
    ({"kind": "time_of_use", "bands": []}, "bands", "cover"),
    ({"kind": "time_of_use", "bands": TOU_BANDS[:2]}, "bands", "No band covers weekends"),
    ({"kind": "time_of_use", "bands": [*TOU_BANDS, {**TOU_BANDS[0], "name": "Extra",
                                                    "start": "19:00", "end": "21:00"}]},
     "bands", "overlaps"),
    ({"kind": "time_of_use", "bands": [{**TOU_BANDS[0], "end": "06:00"}, *TOU_BANDS[1:]]},
     "bands", "overlaps"),
    ({"kind": "time_of_use", "bands": [{**TOU_BANDS[0], "start": "7am"}, *TOU_BANDS[1:]]},
     "bands", "not a time"),
    ({"kind": "time_of_use", "bands": [{**TOU_BANDS[0], "days": ["monday"]}, *TOU_BANDS[1:]]},
     "bands", "days must be"),
    ({"kind": "time_of_use", "bands": [{**TOU_BANDS[0], "name": "Weekend"}, *TOU_BANDS[1:]]},
     "bands", "used twice"),
    ({"kind": "time_of_use", "bands": [{**TOU_BANDS[0], "price": "-1"}, *TOU_BANDS[1:]]},
     "bands", "price"),
    ({"kind": "flat", "price": "1", "bands": TOU_BANDS}, "bands", "Only time-of-use"),
    ({"per": "week", "kind": "standing", "price": "1", "meter_type": ""}, "per", "day, month"),
    ({"colour": "red"}, "colour", "Unknown field"),
    ({"position": "first"}, "position", "whole number"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_RULES)
def test_charge_rule_bad_input_names_the_field(version, changes, field, message):
    args = {"name": "New rule", "kind": "flat", "meter_type": MeterType.GAS, "price": "0.1",
            **changes}
    rejected(lambda: services.charge_rule_create(version=version, **args), field, message)


def test_charge_rule_update_bad_input_changes_nothing(tariffs_a):
    rule = tariffs_a.objects["charge_rule"]
    rejected(lambda: services.charge_rule_update(rule=rule, bands=TOU_BANDS[1:]), "bands")
    rejected(lambda: services.charge_rule_update(rule=rule, name="Standing charge AARDVARK"),
             "name", "already has a rule")


def test_tiers_and_bands_are_normalised(version):
    rule = services.charge_rule_create(
        version=version, name="Water blocks", kind="tiered", meter_type=MeterType.COLD_WATER,
        tiers=[{"up_to": 10, "price": 1.5}, {"from": "10", "up_to": "", "price": "2"}],
    )
    assert rule.tiers == [{"up_to": "10", "price": "1.5"}, {"up_to": None, "price": "2"}]
    bands = [{"name": "All", "days": "weekday", "start": "00:00", "end": "24:00", "price": "1"},
             {"name": "Rest", "days": ["weekend", "holiday"], "start": "12:00", "end": "12:00",
              "price": "1"}]
    rule = services.charge_rule_create(version=version, name="TOU2", kind="time_of_use",
                                       meter_type=MeterType.GAS, bands=bands)
    assert rule.bands[0]["end"] == "00:00"


def test_rule_to_pricing_round_trip(tariffs_a):
    rule = tariffs_a.objects["charge_rule"]
    (priced,) = [r for r in selectors.pricing_rules(rule.version) if r.name == rule.name]
    assert priced.holidays == frozenset({date(2026, 1, 1)})
    assert [b.name for b in priced.bands] == ["Peak", "Off-peak", "Weekend"]


def test_charge_rule_delete(tariffs_a):
    rule = tariffs_a.objects["charge_rule"]
    services.charge_rule_delete(rule=rule)
    assert not ChargeRule.objects.filter(pk=rule.pk).exists()


# --- calendars, add-ons, plans ------------------------------------------------------------


def test_holiday_calendar_bad_days(tariffs_a):
    rejected(lambda: services.holiday_calendar_save(name="X", days=[("2026-13-01", "?")]),
             "days", "Row 1")
    rejected(lambda: services.holiday_calendar_save(
        name="X", days=[("2026-12-25", "a"), ("2026-12-25", "b")]), "days", "twice")
    cal = tariffs_a.objects["holiday_calendar"]
    services.holiday_calendar_save(calendar=cal, name=cal.name,
                                   days=[("2026-12-25", "Christmas")])
    assert list(cal.days.values_list("name", flat=True)) == ["Christmas"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": ""}, "name"), ({"price": "-1"}, "price"), ({"price": None}, "price"),
    ({"currency": "ZZZ"}, "currency"), ({"per": "week"}, "per"),
    ({"meter_type": "steam"}, "meter_type"), ({"tax_rate": "101"}, "tax_rate"),
])
def test_add_on_bad_input(tariffs_a, changes, field):
    args = {"name": "Service fee", "currency": "EUR", "price": "5", **changes}
    rejected(lambda: services.add_on_save(**args), field)


def test_plan_currency_mismatch_named(tariffs_a):
    chf = services.rate_list_create(name="Swiss", currency="CHF", effective_from=date(2026, 1, 1))
    eur_add_on = tariffs_a.objects["add_on"]
    rejected(lambda: services.plan_save(name="Mixed", rate_lists=[chf],
                                        add_ons=[eur_add_on]), "add_ons", "CHF")
    rejected(lambda: services.plan_save(name="Mixed", rate_lists=[chf, tariffs_a.objects[
        "rate_list"]]), "rate_lists", "share a currency")
    rejected(lambda: services.plan_save(name="X", property_kind="castle"), "property_kind")
    rejected(lambda: services.plan_save(name=tariffs_a.objects["plan"].name), "name")


def test_variant_and_template_validation(tariffs_a):
    plan = tariffs_a.objects["plan"]
    other = services.plan_save(name="Shops")
    variant = tariffs_a.objects["plan_variant"]
    rejected(lambda: services.plan_variant_save(plan=plan, name=variant.name), "name")
    rejected(lambda: services.pricing_template_save(name="T", plan=other, variant=variant),
             "variant", "not of Shops")
    rejected(lambda: services.pricing_template_save(name="T", plan=plan,
                                                    billing_point_kind="castle"),
             "billing_point_kind")


def test_delete_refused_while_in_use(tariffs_a):
    before = state()
    with pytest.raises(Conflict):
        services.delete(instance=tariffs_a.objects["plan"])  # a pricing template uses it
    assert state() == before


# --- overrides and rate_list_for ------------------------------------------------------------


def test_override_currency_and_uniqueness(tariffs_a):
    bp = tariffs_a.objects["billing_point"]
    chf = services.rate_list_create(name="Swiss", currency="CHF", effective_from=date(2026, 1, 1))
    rejected(lambda: services.billing_point_rate_list_set(billing_point=bp, rate_list=chf,
                                                          meter_type="electricity"),
             "rate_list", "bills in EUR")
    rejected(lambda: services.billing_point_rate_list_set(
        billing_point=bp, rate_list=tariffs_a.objects["rate_list"]), "meter_type", "already")


def test_rate_list_for_prefers_override_then_plan(tariffs_a):
    bp = tariffs_a.objects["billing_point"]
    plan = tariffs_a.objects["plan"]
    own = tariffs_a.objects["rate_list"]
    water = services.rate_list_create(name="Water", currency="EUR",
                                      effective_from=date(2025, 1, 1))
    services.charge_rule_create(version=water.versions.get(), name="Water", kind="flat",
                                meter_type="cold_water", price="2")
    plan = services.plan_save(plan=plan, name=plan.name, rate_lists=[water])
    at = datetime(2026, 3, 1, 12, tzinfo=ZoneInfo("UTC"))
    # the override covers all meter types but has no water rule → the plan's water list
    assert selectors.rate_list_for(billing_point=bp, at=at, meter_type="cold_water",
                                   plan=plan).rate_list == water
    # electricity: the override's version in effect that day (v2 from 2026-01-01)
    version = selectors.rate_list_for(billing_point=bp, at=at, meter_type="electricity",
                                      plan=plan)
    assert (version.rate_list, version.number) == (own, 2)
    # a day in the property's time zone: 31 Dec 2025 23:30 UTC is 1 Jan 2026 in Berlin
    late = datetime(2025, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert selectors.rate_list_for(billing_point=bp, at=late, plan=plan).number == 2
    # a meter-type override beats the catch-all one
    services.billing_point_rate_list_set(billing_point=bp, rate_list=water,
                                         meter_type="cold_water")
    assert selectors.rate_list_for(billing_point=bp, at=at, meter_type="cold_water").rate_list \
        == water
    # without override: the plan variant's lists replace the plan's
    BillingPointRateList.objects.all().delete()
    variant = tariffs_a.objects["plan_variant"]
    assert selectors.rate_list_for(billing_point=bp, at=at, meter_type="heat",
                                   variant=variant).rate_list == own
    assert selectors.rate_list_for(billing_point=bp, at=at, meter_type="gas", plan=plan) is None


def test_quote_across_a_price_change(tariffs_a):
    rl = services.rate_list_create(name="Heat", currency="EUR", effective_from=date(2026, 1, 1))
    services.charge_rule_create(version=rl.versions.get(), name="Heat", kind="flat",
                                meter_type="heat", price="0.10", tax_rate="7")
    v2 = services.rate_list_version_create(rate_list=rl, effective_from=date(2026, 1, 21))
    services.charge_rule_update(rule=v2.rules.get(), price="0.13")
    request = selectors.QuoteRequest(
        start=date(2026, 1, 1), end=date(2026, 2, 1), time_zone="Europe/Berlin",
        totals={"heat": Decimal("310")}, intervals={},
    )
    quote = selectors.rate_list_quote(rate_list=rl, request=request)
    # 20 of 31 days at 0.10: 200 kWh → 20.00; 11 days at 0.13: 110 kWh → 14.30; VAT 7 %
    assert [(str(x.quantity), str(x.amount.amount)) for x in quote.lines] == [
        ("200.000", "20.00"), ("110.000", "14.30")]
    assert str(quote.tax.amount) == "2.40"  # 1.40 + 1.001 → 1.00
    assert [d.code for d in quote.diagnostics] == ["split_by_days"]


def test_quote_partly_without_prices(tariffs_a):
    rl = services.rate_list_create(name="Short", currency="EUR", effective_from=date(2026, 1, 11))
    services.charge_rule_create(version=rl.versions.get(), name="Gas", kind="flat",
                                meter_type="gas", price="1")
    request = selectors.QuoteRequest(start=date(2026, 1, 1), end=date(2026, 1, 31),
                                     time_zone="UTC", totals={"gas": Decimal("30")},
                                     intervals={})
    quote = selectors.rate_list_quote(rate_list=rl, request=request)
    # 20 of 30 days have prices: 20 units × 1.00; the other 10 units are not priced
    assert str(quote.net.amount) == "20.00"
    assert [d.code for d in quote.diagnostics] == ["no_prices_part"] and not quote.can_bill


def test_quote_before_first_version_is_a_diagnostic(tariffs_a):
    request = selectors.QuoteRequest(start=date(2020, 1, 1), end=date(2020, 2, 1),
                                     time_zone="UTC", totals={}, intervals={})
    quote = selectors.rate_list_quote(rate_list=tariffs_a.objects["rate_list"], request=request)
    assert [d.code for d in quote.diagnostics] == ["no_prices"] and not quote.can_bill
