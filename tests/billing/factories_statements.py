"""Statement rows for the isolation fixture, and the scenarios of the statement tests.

``populate(world)`` runs after ``tests/billing/factories.py``: the world's issued invoice
already has its InvoiceStatement (issuing creates it); this adds a delivery (the marker in
its error, shown in the portal panel) and a building statement of the world's property.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from billing import services
from billing.models import (
    BuildingStatement,
    DeliveryStatus,
    Invoice,
    InvoiceStatement,
    StatementDelivery,
)
from billspree.core.models import Organization
from meters import services as meter_services
from meters.models import MeterType
from tariffs import services as tariff_services
from tenants import services as tenant_services
from tests.billing.builders import House, at, make_house, read


def populate(world) -> None:
    issued = world.objects["issued_invoice"]
    statement, _ = InvoiceStatement.objects.get_or_create(invoice=issued)
    delivery = StatementDelivery.objects.create(
        invoice=issued, recipient=f"{world.marker.lower()}@example.test",
        status=DeliveryStatus.FAILED, error=f"Mailbox full {world.marker}")
    building = BuildingStatement.objects.create(
        property=world.objects["billing_point"].property, period_start=date(2025, 4, 1),
        period_end=date(2025, 5, 1), error=f"Not yet {world.marker}")
    world.objects.update(invoice_statement=statement, statement_delivery=delivery,
                         building_statement=building)


# --- scenarios --------------------------------------------------------------------------------

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


@dataclass
class Billed:
    house: House
    water: object
    invoice: Invoice


def brand(org: Organization) -> None:
    Organization.objects.filter(pk=org.pk).update(
        brand_color="#0b6e4f", address="Alpha Estates GmbH\nLindenstraße 12\n10969 Berlin",
        payment_details="Bank: Berliner Sparkasse\nIBAN: DE89 3704 0044 0532 0130 00\n"
                        "BIC: COBADEFFXXX", payment_terms_days=14)
    org.refresh_from_db()


def _month(i: int) -> date:
    n = 2025 * 12 + 8 + i  # 2025-09 + i
    return date(n // 12, n % 12 + 1, 1)


def billed_house(*, tenant_email: str = "tenant@example.com", estimated: bool = True,
                 extra_lines: int = 0) -> Billed:
    """A Berlin flat with an electricity meter (standing charge, tiers, 19 % VAT) and a cold
    water meter (flat price, 7 % VAT), read monthly since September 2025; September 2026
    invoiced and issued. With ``estimated`` the water meter's last reading is ten days
    before the period end, so its end reading is estimated."""
    h = make_house(tenant_email=tenant_email, connected=_month(0), initial="1000")
    water = meter_services.meter_create(type=MeterType.COLD_WATER, serial_number=f"W-{h.meter.pk}",
                                        label="Kitchen riser", unit="m³")
    meter_services.meter_assign(billing_point=h.bp, meter=water, connected_at=at(_month(0)),
                                initial_reading=Decimal("50"))
    tariff_services.charge_rule_create(version=h.version, name="Cold water", kind="flat",
                                       meter_type=MeterType.COLD_WATER, price=Decimal("2.10"),
                                       tax_rate=Decimal("7"))
    power, litres = Decimal("1000"), Decimal("50")
    e_points, w_points = [], []
    for i in range(1, 14):
        power += Decimal(180 + 37 * (i % 5))
        e_points.append((at(_month(i)), str(power)))
        if i < 13 or not estimated:
            litres += Decimal("3.2") + Decimal(i % 3) / 2
            w_points.append((at(_month(i)), str(litres)))
    if estimated:
        w_points.append((at(date(2026, 9, 21)), str(litres + Decimal("2.4"))))
    read(h.meter, *e_points)
    read(water, *w_points)
    [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    for n in range(extra_lines):
        services.invoice_line_add(invoice=inv, description=f"Service fee {n + 1}: meter "
                                  f"maintenance and reading, {n % 4 + 1} visits",
                                  quantity=Decimal(n % 3 + 1), unit_price=Decimal("4.50"))
    inv = services.invoice_issue(invoice=inv)
    return Billed(h, water, inv)


@dataclass
class Building:
    prop: object
    main: object
    subs: list
    points: list
    owner: object
    invoices: list


def building_scenario() -> Building:
    """A property with a main electricity meter (on the common area) above three flats'
    sub-meters, September 2026: main 1000 kWh, subs 300 + 250 + 150 = 700 → 300 kWh
    (30.0 %) losses and common use. Flat 3 is vacant from 16 September: its second half is
    invoiced to the owner."""
    h = make_house(connected=date(2026, 8, 1), initial="0", flat="0.30")
    prop = h.prop
    common = meter_services.billing_point_create(property=prop, connection_id=f"C-{h.bp.pk}",
                                                 name="Common area", kind="common_area")
    main = meter_services.meter_create(type=MeterType.ELECTRICITY,
                                       serial_number=f"MAIN-{h.bp.pk}", label="Main meter")
    meter_services.meter_assign(billing_point=common, meter=main, connected_at=at(date(2026, 8, 1)),
                                initial_reading=Decimal("0"))
    points, subs = [h.bp], [h.meter]
    for n in (2, 3):
        bp = meter_services.billing_point_create(property=prop, connection_id=f"F{n}-{h.bp.pk}",
                                                 name=f"{h.bp.name}-{n}")
        meter = meter_services.meter_create(type=MeterType.ELECTRICITY,
                                            serial_number=f"E{n}-{h.bp.pk}")
        meter_services.meter_assign(billing_point=bp, meter=meter,
                                    connected_at=at(date(2026, 8, 1)), initial_reading=0)
        points.append(bp)
        subs.append(meter)
    for m in subs:
        m.parent = main
        m.save(update_fields=["parent"])
    tenant2 = tenant_services.tenant_create(name="Tenant Two", email="two@example.com")
    tenant_services.occupancy_create(tenant=tenant2, billing_point=points[1],
                                     move_in=at(date(2026, 8, 1)))
    tenant3 = tenant_services.tenant_create(name="Tenant Three", email="three@example.com")
    tenant_services.occupancy_create(tenant=tenant3, billing_point=points[2],
                                     move_in=at(date(2026, 8, 1)), move_out=at(date(2026, 9, 16)))
    read(main, (at(SEP), "2000"), (at(OCT), "3000"))
    read(subs[0], (at(SEP), "500"), (at(OCT), "800"))
    read(subs[1], (at(SEP), "400"), (at(OCT), "650"))
    read(subs[2], (at(SEP), "100"), (at(date(2026, 9, 16)), "175"), (at(OCT), "250"))
    invoices = []
    for bp in points:
        sub = h.subscription if bp == h.bp else services.subscription_create(
            billing_point=bp, plan=h.plan, start_date=date(2026, 8, 1))
        for draft in services.invoice_create_draft(subscriptions=[sub], start=SEP, end=OCT):
            invoices.append(services.invoice_issue(invoice=draft))
    return Building(prop, main, subs, points, h.owner, invoices)


def in_atomic(fn, *args, **kwargs):
    with transaction.atomic():
        return fn(*args, **kwargs)
