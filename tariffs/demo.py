"""Demo tariffs of an organization, in its default currency (VAT rates follow: Swiss when
the currency is CHF, German otherwise).

- "Household electricity": a monthly standing charge, three graduated blocks and VAT, with a
  price change from 1 January 2026 (version 2; version 1 stays as history);
- "Electricity time of use": standing charge, peak / off-peak / weekend-and-holiday bands
  with a holiday calendar, and a minimum charge;
- "Commercial electricity": volume blocks for shops and offices;
- "Water": tiered cold water with a standing charge, flat hot water;
- "Heat and cooling": flat heat, cooling and gas;
- add-ons (meter rental per electricity / water meter, a service fee, an EV parking fee);
- a plan per building type (residential with a time-of-use variant, commercial, parking),
  pricing templates per kind of billing point, and one apartment on its own TOU rate list.

Idempotent: rows are looked up by name before they are created.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billspree.core.models import Organization
from meters.models import BillingPoint, MeterType
from tariffs import services
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    HolidayCalendar,
    Plan,
    PlanVariant,
    PricingTemplate,
    RateList,
)

START = date(2025, 1, 1)
PRICE_CHANGE = date(2026, 1, 1)
HOLIDAYS = [
    ("2025-01-01", "New Year's Day"), ("2025-04-18", "Good Friday"),
    ("2025-04-21", "Easter Monday"), ("2025-05-01", "Labour Day"),
    ("2025-12-25", "Christmas Day"), ("2025-12-26", "Boxing Day"),
    ("2026-01-01", "New Year's Day"), ("2026-04-03", "Good Friday"),
    ("2026-04-06", "Easter Monday"), ("2026-05-01", "Labour Day"),
    ("2026-12-25", "Christmas Day"), ("2026-12-26", "Boxing Day"),
]
TOU_BANDS = [
    {"name": "Peak", "days": ["weekday"], "start": "07:00", "end": "20:00", "price": "0.3600"},
    {"name": "Off-peak", "days": ["weekday"], "start": "20:00", "end": "07:00",
     "price": "0.2400"},
    {"name": "Weekend and holidays", "days": ["weekend", "holiday"], "start": "00:00",
     "end": "00:00", "price": "0.2200"},
]


def _taxes(currency: str) -> tuple[Decimal, Decimal, Decimal | None]:
    """(standard VAT, reduced VAT for water, cash rounding step)."""
    if currency == "CHF":
        return Decimal("8.1"), Decimal("2.6"), Decimal("0.05")
    return Decimal("19"), Decimal("7"), None


def _rate_list(name: str, currency: str, cash: Decimal | None, description: str,
               rules: list[dict]) -> tuple[RateList, bool]:
    found = RateList.objects.filter(name=name).first()
    if found is not None:
        return found, False
    rate_list = services.rate_list_create(
        name=name, currency=currency, effective_from=START, description=description,
    )
    version = rate_list.versions.get()
    for position, rule in enumerate(rules):
        services.charge_rule_create(version=version, position=position, **rule)
    return rate_list, True


def _household(currency: str, vat: Decimal, cash: Decimal | None) -> RateList:
    rate_list, created = _rate_list(
        "Household electricity", currency, cash, "Apartments: standing charge and blocks.", [
            {"name": "Standing charge", "kind": "standing", "price": "11.50", "per": "month",
             "tax_rate": vat},
            {"name": "Electricity", "kind": "tiered", "meter_type": MeterType.ELECTRICITY,
             "tax_rate": vat, "tiers": [{"up_to": "150", "price": "0.2800"},
                                        {"up_to": "400", "price": "0.3200"},
                                        {"up_to": None, "price": "0.3600"}]},
        ],
    )
    if created:
        version = services.rate_list_version_create(
            rate_list=rate_list, effective_from=PRICE_CHANGE, note="Annual price change 2026"
        )
        for rule in version.rules.all():
            if rule.kind == "standing":
                services.charge_rule_update(rule=rule, price=Decimal("12.40"))
            else:
                services.charge_rule_update(rule=rule, tiers=[
                    {"up_to": "150", "price": "0.3000"}, {"up_to": "400", "price": "0.3400"},
                    {"up_to": None, "price": "0.3800"},
                ])
    return rate_list


def _calendar() -> HolidayCalendar:
    found = HolidayCalendar.objects.filter(name="Public holidays").first()
    return found or services.holiday_calendar_save(name="Public holidays", days=HOLIDAYS)


def _rate_lists(currency: str) -> dict[str, RateList]:
    vat, reduced, cash = _taxes(currency)
    if cash:  # the organization's setting for the currency (not the rate lists')
        services.cash_rounding_set(currency=currency, step=cash)
    calendar = _calendar()
    lists = {"household": _household(currency, vat, cash)}
    lists["tou"] = _rate_list("Electricity time of use", currency, cash,
                              "Peak, off-peak and weekend prices; needs interval readings.", [
        {"name": "Standing charge", "kind": "standing", "price": "9.90", "per": "month",
         "tax_rate": vat},
        {"name": "Electricity", "kind": "time_of_use", "meter_type": MeterType.ELECTRICITY,
         "bands": TOU_BANDS, "holiday_calendar": calendar, "minimum_charge": "15.00",
         "tax_rate": vat},
    ])[0]
    lists["commercial"] = _rate_list("Commercial electricity", currency, cash,
                                     "Shops and offices: volume blocks.", [
        {"name": "Standing charge", "kind": "standing", "price": "300.00", "per": "year",
         "tax_rate": vat},
        {"name": "Electricity", "kind": "volume", "meter_type": MeterType.ELECTRICITY,
         "minimum_charge": "40.00", "tax_rate": vat,
         "tiers": [{"up_to": "500", "price": "0.3000"}, {"up_to": "2000", "price": "0.2700"},
                   {"up_to": None, "price": "0.2500"}]},
    ])[0]
    lists["water"] = _rate_list("Water", currency, cash, "Cold water in blocks, hot water flat.", [
        {"name": "Water connection", "kind": "standing", "price": "0.14", "per": "day",
         "tax_rate": reduced},
        {"name": "Cold water", "kind": "tiered", "meter_type": MeterType.COLD_WATER,
         "tax_rate": reduced, "tiers": [{"up_to": "5", "price": "1.90"},
                                        {"up_to": "15", "price": "2.40"},
                                        {"up_to": None, "price": "3.10"}]},
        {"name": "Hot water", "kind": "flat", "meter_type": MeterType.HOT_WATER,
         "price": "8.50", "tax_rate": reduced},
    ])[0]
    lists["heat"] = _rate_list("Heat and cooling", currency, cash, "Flat energy prices.", [
        {"name": "Heat", "kind": "flat", "meter_type": MeterType.HEAT, "price": "0.1150",
         "tax_rate": vat},
        {"name": "Cooling", "kind": "flat", "meter_type": MeterType.COOLING, "price": "0.1400",
         "tax_rate": vat},
        {"name": "Gas", "kind": "flat", "meter_type": MeterType.GAS, "unit": "m³",
         "price": "1.0500", "tax_rate": vat},
    ])[0]
    return lists


def _add_ons(currency: str) -> dict[str, AddOn]:
    vat = _taxes(currency)[0]
    specs = {
        "meter_rental": ("Electricity meter rental", "2.50", "month", MeterType.ELECTRICITY),
        "water_rental": ("Water meter rental", "14.40", "year", MeterType.COLD_WATER),
        "service_fee": ("Service fee", "4.90", "month", ""),
        "ev_parking": ("EV charger parking", "15.00", "month", ""),
    }
    out = {}
    for key, (name, price, per, meter_type) in specs.items():
        out[key] = AddOn.objects.filter(name=name).first() or services.add_on_save(
            name=name, currency=currency, price=Decimal(price), per=per, meter_type=meter_type,
            tax_rate=vat,
        )
    return out


def _plan(name: str, kind: str, description: str, rate_lists, add_ons) -> Plan:
    return Plan.objects.filter(name=name).first() or services.plan_save(
        name=name, property_kind=kind, description=description, rate_lists=rate_lists,
        add_ons=add_ons,
    )


def _plans(lists: dict[str, RateList], add_ons: dict[str, AddOn]) -> None:
    residential = _plan(
        "Residential", "apartments", "Apartments: household electricity, water, heat.",
        [lists["household"], lists["water"], lists["heat"]],
        [add_ons["meter_rental"], add_ons["water_rental"], add_ons["service_fee"]],
    )
    tou = PlanVariant.objects.filter(plan=residential, name="Time of use").first()
    if tou is None:
        tou = services.plan_variant_save(
            plan=residential, name="Time of use", description="Smart-meter households.",
            rate_lists=[lists["tou"], lists["water"], lists["heat"]],
        )
    commercial = _plan(
        "Commercial", "office", "Shops and offices.",
        [lists["commercial"], lists["water"], lists["heat"]],
        [add_ons["meter_rental"], add_ons["service_fee"]],
    )
    parking = _plan("Parking", "", "Parking spaces with EV chargers.", [lists["commercial"]],
                    [add_ons["ev_parking"]])
    templates = [
        ("Apartment", residential, None, BillingPoint.Kind.APARTMENT),
        ("Apartment with smart meter", residential, tou, BillingPoint.Kind.APARTMENT),
        ("Shop", commercial, None, BillingPoint.Kind.SHOP),
        ("Office", commercial, None, BillingPoint.Kind.OFFICE),
        ("Parking space", parking, None, BillingPoint.Kind.PARKING),
    ]
    for name, plan, variant, kind in templates:
        if not PricingTemplate.objects.filter(name=name).exists():
            services.pricing_template_save(name=name, plan=plan, variant=variant,
                                           billing_point_kind=kind)


def _override(tou: RateList) -> None:
    bp = (BillingPoint.objects.filter(kind=BillingPoint.Kind.APARTMENT)
          .select_related("property").order_by("connection_id").first())
    if bp is None or str(bp.property.currency) != str(tou.currency):
        return
    if not BillingPointRateList.objects.filter(billing_point=bp).exists():
        services.billing_point_rate_list_set(
            billing_point=bp, rate_list=tou, meter_type=MeterType.ELECTRICITY,
            note="Smart meter since 2025: billed by time of use.",
        )


def seed(org: Organization) -> None:
    currency = str(org.default_currency)
    lists = _rate_lists(currency)
    _plans(lists, _add_ons(currency))
    _override(lists["tou"])
