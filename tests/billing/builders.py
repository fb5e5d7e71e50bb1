"""Small builders for billing tests: a Berlin apartment with an electricity meter, readings,
a tenant, an owner, a tariff and a subscription (all through the apps' services)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from billing import services
from meters import services as meter_services
from meters.models import MeterType
from readings.models import Source
from readings.parsing import RowIn
from readings.services import reading_ingest
from tariffs import services as tariff_services
from tenants import services as tenant_services

BERLIN = ZoneInfo("Europe/Berlin")
TIERS = [{"up_to": "100", "price": "0.20"}, {"up_to": "300", "price": "0.25"},
         {"up_to": None, "price": "0.30"}]
_seq = count(1)


def at(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


@dataclass
class House:
    prop: object
    bp: object
    meter: object
    tenant: object
    owner: object
    rate_list: object
    version: object
    plan: object
    subscription: object
    extra: dict = field(default_factory=dict)


def read(meter, *points: tuple[datetime, str]) -> None:
    rows = [RowIn(n, meter.serial_number, moment, Decimal(value))
            for n, (moment, value) in enumerate(points)]
    result = reading_ingest(rows=rows, source=Source.API)
    assert not [r for r in result.results if r.status == "rejected"], result.results


def make_house(*, tenant_email: str = "tenant@example.com", initial: str = "1000",
               connected: date = date(2026, 8, 1), standing: bool = True,
               tiers=None, flat: str | None = None, cash_rounding: str | None = None,
               register_digits: int | None = None, kind: str = "tiered",
               currency: str = "EUR", tax_rate: str = "19",
               rounding_mode: str = "ROUND_HALF_UP") -> House:
    n = next(_seq)
    prop = meter_services.property_create(name=f"House {n}", time_zone="Europe/Berlin",
                                          currency=currency)
    bp = meter_services.billing_point_create(property=prop, connection_id=f"H{n}-1",
                                             name=f"Flat {n}")
    extra = {"register_digits": register_digits} if register_digits else {}
    meter = meter_services.meter_create(type=MeterType.ELECTRICITY, serial_number=f"E-{n}",
                                        **extra)
    meter_services.meter_assign(billing_point=bp, meter=meter, connected_at=at(connected),
                                initial_reading=Decimal(initial))
    owner = tenant_services.tenant_create(name=f"Owner {n}", kind="company",
                                          email=f"owner{n}@example.com")
    tenant_services.ownership_set(owner=owner, property=prop)
    tenant = tenant_services.tenant_create(name=f"Tenant {n}", email=tenant_email)
    tenant_services.occupancy_create(tenant=tenant, billing_point=bp, move_in=at(connected))
    if cash_rounding:  # the organization's setting for the currency
        tariff_services.cash_rounding_set(currency=currency, step=cash_rounding)
    rate_list = tariff_services.rate_list_create(
        name=f"Power {n}", currency=currency, effective_from=date(2026, 1, 1),
        rounding_mode=rounding_mode,
    )
    version = rate_list.versions.get()
    if standing:
        tariff_services.charge_rule_create(version=version, name="Standing charge",
                                           kind="standing", price=Decimal("9.90"), per="month",
                                           tax_rate=Decimal("19"))
    if flat is not None:
        tariff_services.charge_rule_create(version=version, name="Energy", kind="flat",
                                           meter_type=MeterType.ELECTRICITY, price=Decimal(flat),
                                           tax_rate=Decimal(tax_rate))
    else:
        tariff_services.charge_rule_create(version=version, name="Energy", kind=kind,
                                           meter_type=MeterType.ELECTRICITY,
                                           tiers=tiers or TIERS, tax_rate=Decimal("19"))
    plan = tariff_services.plan_save(name=f"Plan {n}", rate_lists=[rate_list])
    sub = services.subscription_create(billing_point=bp, plan=plan, start_date=connected)
    return House(prop, bp, meter, tenant, owner, rate_list, version, plan, sub)


def september_houses(org, count: int = 2) -> list:
    """``count`` houses of ``org`` (switched to Europe/Berlin) each read on 1 Sep and 1 Oct
    2026 (300 kWh used): the shared starting point of the bill-run tests."""
    from billspree.core.scoping import organization_context

    org.time_zone = "Europe/Berlin"
    org.save()
    sep, oct_ = date(2026, 9, 1), date(2026, 10, 1)
    with organization_context(org):
        houses = [make_house() for _ in range(count)]
        for h in houses:
            read(h.meter, (at(sep), "1100"), (at(oct_), "1400"))
    return houses
