"""Rows of every tariffs model for one organization (the isolation test uses them too).

``populate(world)`` runs inside ``organization_context(world.org)`` after the meters
populator (which stores ``billing_point`` in ``world.objects``; without it a property and a
billing point are created here). Every row carries ``world.marker`` in a visible name.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from meters.models import BillingPoint, MeterType, Property
from tariffs import services

TOU_BANDS = [
    {"name": "Peak", "days": ["weekday"], "start": "07:00", "end": "20:00", "price": "0.32"},
    {"name": "Off-peak", "days": ["weekday"], "start": "20:00", "end": "07:00", "price": "0.21"},
    {"name": "Weekend", "days": ["weekend", "holiday"], "start": "00:00", "end": "00:00",
     "price": "0.19"},
]
TIERS = [{"up_to": "100", "price": "0.20"}, {"up_to": "300", "price": "0.25"},
         {"up_to": None, "price": "0.30"}]


def _billing_point(world) -> BillingPoint:
    bp = world.objects.get("billing_point")
    if bp is not None:
        return bp
    prop = Property.objects.create(name=f"Tariff House {world.marker}", currency="EUR",
                                   time_zone="Europe/Berlin")
    bp = BillingPoint.objects.create(property=prop, connection_id=f"TH-{world.marker}",
                                     name=f"Flat {world.marker}")
    world.objects["billing_point"] = bp
    return bp


def populate(world) -> None:
    m = world.marker
    rate_list = services.rate_list_create(
        name=f"Electricity {m}", currency="EUR", effective_from=date(2025, 1, 1),
        description=f"Household electricity {m}",
    )
    v1 = rate_list.versions.get()
    services.charge_rule_create(version=v1, name=f"Standing charge {m}", kind="standing",
                                price=Decimal("9.90"), per="month", tax_rate=Decimal("19"))
    services.charge_rule_create(version=v1, name=f"Energy {m}", kind="tiered",
                                meter_type=MeterType.ELECTRICITY, tiers=TIERS,
                                tax_rate=Decimal("19"))
    calendar = services.holiday_calendar_save(
        name=f"Holidays {m}", days=[(date(2026, 1, 1), f"New Year {m}")]
    )
    v2 = services.rate_list_version_create(rate_list=rate_list, effective_from=date(2026, 1, 1),
                                           note=f"Price change {m}")
    tou = services.charge_rule_create(
        version=v2, name=f"Time of use {m}", kind="time_of_use", meter_type=MeterType.HEAT,
        bands=TOU_BANDS, holiday_calendar=calendar, tax_rate=Decimal("19"),
    )
    add_on = services.add_on_save(name=f"Meter rental {m}", currency="EUR", price=Decimal("2.50"),
                                  per="month", meter_type=MeterType.ELECTRICITY,
                                  tax_rate=Decimal("19"))
    plan = services.plan_save(name=f"Apartments {m}", property_kind="apartments",
                              rate_lists=[rate_list], add_ons=[add_on])
    variant = services.plan_variant_save(plan=plan, name=f"With heating {m}",
                                         rate_lists=[rate_list], add_ons=[add_on])
    template = services.pricing_template_save(name=f"Apartment template {m}", plan=plan,
                                              variant=variant, billing_point_kind="apartment")
    override = services.billing_point_rate_list_set(
        billing_point=_billing_point(world), rate_list=rate_list, note=f"Own prices {m}"
    )
    # CHF: the EUR prices of these factories stay exact
    cash_rounding = services.cash_rounding_set(currency="CHF", step=Decimal("0.05"))
    world.objects.update(
        cash_rounding=cash_rounding, rate_list=rate_list, rate_list_version=v2,
        charge_rule=tou, holiday_calendar=calendar,
        holiday=calendar.days.get(), add_on=add_on, plan=plan, plan_variant=variant,
        pricing_template=template, billing_point_rate_list=override,
    )
