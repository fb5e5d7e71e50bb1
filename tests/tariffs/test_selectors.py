"""``rate_book``: which rate list prices what, for many billing points at once, in a fixed
number of queries, resolved as ``rate_list_for`` resolves one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from meters.models import BillingPoint
from tariffs import pricing, selectors, services
from tariffs.selectors import RateSubject

DEC, JAN, FEB, MAR = date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def _water(name: str, price: str) -> object:
    rl = services.rate_list_create(name=name, currency="EUR", effective_from=date(2025, 1, 1))
    services.charge_rule_create(version=rl.versions.get(), name=name, kind="flat",
                                meter_type="cold_water", price=price)
    return rl


def _points(world, count: int) -> list[BillingPoint]:
    bp = world.objects["billing_point"]
    return [BillingPoint.objects.create(property=bp.property, connection_id=f"RB-{n}",
                                        name=f"Flat RB {n}") for n in range(count)]


def test_rate_book_queries_do_not_grow_with_subjects(tariffs_a, django_assert_max_num_queries,
                                                     django_assert_num_queries):
    plan, variant = tariffs_a.objects["plan"], tariffs_a.objects["plan_variant"]
    points = _points(tariffs_a, 6)
    for n, bp in enumerate(points[:3]):
        services.billing_point_rate_list_set(billing_point=bp, rate_list=_water(f"W{n}", "2"),
                                             meter_type="cold_water")
    subjects = [RateSubject(bp.pk, plan.pk, variant.pk if n % 2 else None)
                for n, bp in enumerate(points)]
    with django_assert_max_num_queries(10):
        book = selectors.rate_book(subjects=subjects, start=DEC, end=MAR)
    with django_assert_num_queries(0):  # everything below is loaded
        for n, s in enumerate(subjects):
            water = book.version_for(s, "cold_water", FEB)
            assert (water is not None) == (n < 3)
            power = book.version_for(s, "electricity", FEB)
            assert power.rate_list == tariffs_a.objects["rate_list"] and power.number == 2
            assert {r.kind for r in book.rules_of(power)} == {"standing", "tiered", "time_of_use"}
            assert book.version_for(s, "gas", FEB) is None
            assert [a.name for a in book.add_ons(s)] == [tariffs_a.objects["add_on"].name]
            rates = book.rates_for(s, {"electricity"}, DEC, FEB)
            assert [v.number for v in rates.versions["electricity"]] == [1, 2]
            assert rates.cuts() == {date(2025, 1, 1), JAN}
            assert rates.version("electricity", date(2025, 12, 31)).number == 1


def test_rate_book_resolves_as_rate_list_for(tariffs_a):
    """Own list for the meter type, then the own catch-all, then the variant's (else the
    plan's) lists: the first whose version that day has a rule for the meter type."""
    bp, plan = tariffs_a.objects["billing_point"], tariffs_a.objects["plan"]
    own = tariffs_a.objects["rate_list"]  # bp's catch-all override (no water rule)
    plan_water, own_water = _water("Plan water", "2"), _water("Own water", "3")
    plan = services.plan_save(plan=plan, name=plan.name, rate_lists=[plan_water])
    other = _points(tariffs_a, 1)[0]
    services.billing_point_rate_list_set(billing_point=other, rate_list=own_water,
                                         meter_type="cold_water")
    book = selectors.rate_book(subjects=[RateSubject(bp.pk, plan.pk),
                                         RateSubject(other.pk, plan.pk)], start=JAN, end=MAR)
    for point, meter_type, expected in [
        (bp, "cold_water", plan_water), (bp, "electricity", own), (bp, "", own),
        (other, "cold_water", own_water), (other, "electricity", None), (other, "", plan_water),
    ]:
        found = book.version_for(RateSubject(point.pk, plan.pk), meter_type, FEB)
        one = selectors.rate_list_for(billing_point=point, at=FEB, meter_type=meter_type,
                                      plan=plan)
        assert (found and found.rate_list) == (one and one.rate_list) == expected, meter_type


def test_fixed_fees_lists_and_their_price_changes(tariffs_a):
    bp, plan = tariffs_a.objects["billing_point"], tariffs_a.objects["plan"]
    fees = services.rate_list_create(name="Service fees", currency="EUR",
                                     effective_from=date(2025, 1, 1))
    services.charge_rule_create(version=fees.versions.get(), name="Admin fee",
                                kind="standing", price=Decimal("3"), per="month")
    v2 = services.rate_list_version_create(rate_list=fees, effective_from=FEB)
    plan = services.plan_save(plan=plan, name=plan.name, rate_lists=[fees])
    subject = RateSubject(bp.pk, plan.pk)
    book = selectors.rate_book(subjects=[subject], start=JAN, end=MAR)
    assert book.fee_versions(subject, FEB) == [v2]
    assert book.fees_only(v2) and not book.fees_only(
        book.version_for(subject, "electricity", FEB))
    rates = book.rates_for(subject, set(), JAN, MAR)
    assert [v.effective_from for v in rates.versions[f"fees:{fees.pk}"]] == [date(2025, 1, 1),
                                                                            FEB]
    assert FEB in rates.cuts()
    assert all(r.kind == pricing.STANDING for r in book.rules_of(v2))
