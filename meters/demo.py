"""Demo building(s) of an organization: properties, billing points, meters, assignments.

"Lindenhof" is a mixed-use block: 24 apartments over 6 floors, 4 shops, 10 parking spaces
with EV chargers and 3 common areas, each apartment with electricity, cold and hot water
and heat meters, shops with electricity, cold water and cooling, a gas meter for the
boiler room, and a main electricity meter above the apartment sub-meters. Apartment 2B's
electricity meter was replaced last year (final and initial readings on the same day),
and a few spare meters are in stock, inactive. "Hafenblick" is a small office building.

Idempotent: every row is looked up by its natural key (property name, connection ID,
serial number) before it is created, so running the seed twice changes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billspree.core.models import Organization
from meters import services
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property

CONNECTED = date(2024, 1, 1)
REPLACED = date(2025, 9, 15)
APARTMENT_TYPES = (MeterType.ELECTRICITY, MeterType.COLD_WATER, MeterType.HOT_WATER, MeterType.HEAT)
SHOP_TYPES = (MeterType.ELECTRICITY, MeterType.COLD_WATER, MeterType.COOLING)
PREFIX = {
    MeterType.ELECTRICITY: "EL",
    MeterType.GAS: "GS",
    MeterType.COLD_WATER: "CW",
    MeterType.HOT_WATER: "HW",
    MeterType.HEAT: "HT",
    MeterType.COOLING: "CL",
}


def _property(org: Organization, name: str, **fields) -> Property:
    found = Property.objects.filter(name=name).first()
    if found is not None:
        return found
    return services.property_create(
        name=name, time_zone=str(org.time_zone), currency=str(org.default_currency), **fields
    )


def _billing_point(prop: Property, connection_id: str, name: str, **fields) -> BillingPoint:
    found = BillingPoint.objects.filter(connection_id=connection_id).first()
    if found is not None:
        return found
    return services.billing_point_create(
        property=prop, connection_id=connection_id, name=name, **fields
    )


def _meter(serial: str, meter_type: str, label: str, **fields) -> Meter:
    found = Meter.objects.filter(serial_number=serial).first()
    if found is not None:
        return found
    return services.meter_create(serial_number=serial, type=meter_type, label=label, **fields)


def _connect(bp: BillingPoint, meter: Meter, initial: str, on: date = CONNECTED) -> None:
    if MeterAssignment.objects.filter(meter=meter).exists():
        return
    services.meter_assign(
        billing_point=bp, meter=meter, connected_at=on, initial_reading=Decimal(initial)
    )


def _serial(code: str, meter_type: str, n: int) -> str:
    return f"{PREFIX[meter_type]}-{code}-{n:04d}"


def _apartments(prop: Property, code: str, main: Meter) -> None:
    n = 0
    for floor in range(1, 7):
        for letter in "ABCD":
            n += 1
            bp = _billing_point(
                prop,
                f"{code}-A{floor}{letter}",
                f"Apartment {floor}{letter}",
                kind=BillingPoint.Kind.APARTMENT,
                floor=str(floor),
                area_m2=Decimal(58 + (n * 7) % 45),
            )
            for t in APARTMENT_TYPES:
                parent = main if t == MeterType.ELECTRICITY else None
                meter = _meter(_serial(code, t, 100 + n), t, f"Apt {floor}{letter}", parent=parent)
                _connect(bp, meter, str(n * 13 % 900))


def _shops(prop: Property, code: str) -> None:
    for i, name in enumerate(["Bakery Frei", "Pharmacy", "Café Linde", "Flower shop"], 1):
        bp = _billing_point(
            prop,
            f"{code}-S{i}",
            f"Shop {i} ({name})",
            kind=BillingPoint.Kind.SHOP,
            floor="0",
            area_m2=Decimal(80 + 25 * i),
        )
        for t in SHOP_TYPES:
            meter = _meter(
                _serial(code, t, 500 + i),
                t,
                f"Shop {i}",
                multiplier=Decimal("20") if t == MeterType.ELECTRICITY and i == 1 else Decimal("1"),
            )
            _connect(bp, meter, str(i * 111))


def _parking(prop: Property, code: str) -> None:
    for i in range(1, 11):
        bp = _billing_point(
            prop, f"{code}-P{i:02d}", f"Parking {i:02d}", kind=BillingPoint.Kind.PARKING, floor="-1"
        )
        meter = _meter(
            _serial(code, MeterType.ELECTRICITY, 700 + i),
            MeterType.ELECTRICITY,
            f"EV charger P{i:02d}",
        )
        _connect(bp, meter, str(i * 7))


def _common_areas(prop: Property, code: str) -> None:
    stairs = _billing_point(
        prop, f"{code}-C1", "Staircase and lighting", kind=BillingPoint.Kind.COMMON_AREA
    )
    _connect(
        stairs,
        _meter(
            _serial(code, MeterType.ELECTRICITY, 901), MeterType.ELECTRICITY, "Staircase lighting"
        ),
        "4200",
    )
    laundry = _billing_point(
        prop, f"{code}-C2", "Laundry room", kind=BillingPoint.Kind.COMMON_AREA, floor="-1"
    )
    _connect(
        laundry,
        _meter(
            _serial(code, MeterType.ELECTRICITY, 902), MeterType.ELECTRICITY, "Laundry machines"
        ),
        "15300",
    )
    _connect(
        laundry,
        _meter(_serial(code, MeterType.COLD_WATER, 902), MeterType.COLD_WATER, "Laundry water"),
        "830",
    )
    boiler = _billing_point(
        prop, f"{code}-C3", "Boiler room", kind=BillingPoint.Kind.COMMON_AREA, floor="-1"
    )
    _connect(
        boiler,
        _meter(_serial(code, MeterType.GAS, 903), MeterType.GAS, "Boiler gas", unit="m³"),
        "51234",
    )


def _replacement(code: str) -> None:
    """Apartment 1B's electricity meter was swapped for a new one on REPLACED."""
    old = Meter.objects.get(serial_number=_serial(code, MeterType.ELECTRICITY, 102))
    new = _meter(
        _serial(code, MeterType.ELECTRICITY, 1102),
        MeterType.ELECTRICITY,
        "Apt 1B (since replacement)",
        parent=old.parent,
    )
    current = MeterAssignment.objects.filter(meter=old, removed_at__isnull=True).first()
    if current is not None and not new.assignments.exists():
        services.meter_replace(
            assignment=current,
            new_meter=new,
            replaced_at=REPLACED,
            final_reading=Decimal("8412.6"),
            initial_reading=Decimal("0.4"),
        )


def _spares(code: str) -> None:
    for t in MeterType:
        _meter(_serial(code, t, 9000), t, "Spare (in stock)")


def _office(org: Organization, city: str) -> None:
    prop = _property(
        org,
        "Hafenblick Offices",
        kind=Property.Kind.OFFICE,
        address=f"Hafenstrasse 12\n{city}",
    )
    main = _meter("EL-HB-0001", MeterType.ELECTRICITY, "Hafenblick main", multiplier=Decimal("100"))
    _connect(
        _billing_point(prop, "HB-C1", "Building services", kind=BillingPoint.Kind.COMMON_AREA),
        main,
        "120000",
    )
    for i in range(1, 5):
        bp = _billing_point(
            prop,
            f"HB-O{i}",
            f"Office floor {i}",
            kind=BillingPoint.Kind.OFFICE,
            floor=str(i),
            area_m2=Decimal(420),
        )
        for t in (MeterType.ELECTRICITY, MeterType.HEAT, MeterType.COOLING):
            meter = _meter(
                _serial("HB", t, 10 + i),
                t,
                f"Floor {i}",
                parent=main if t == MeterType.ELECTRICITY else None,
            )
            _connect(bp, meter, str(1000 * i))


#: A plausible city for the demo addresses, by the organization's time zone.
CITIES = {
    "Europe/Zurich": ("8004 Zürich", "8005 Zürich"),
    "Europe/Berlin": ("10969 Berlin", "20457 Hamburg"),
}


def seed(org: Organization) -> None:
    code = "LH"
    city, office_city = CITIES.get(str(org.time_zone), ("10969 Berlin", "20457 Hamburg"))
    prop = _property(
        org, "Lindenhof", kind=Property.Kind.MIXED, address=f"Lindenstrasse 24\n{city}"
    )
    main = _meter(
        "EL-LH-0001",
        MeterType.ELECTRICITY,
        "Lindenhof main (apartments)",
        multiplier=Decimal("40"),
        register_digits=7,
    )
    _connect(
        _billing_point(
            prop, "LH-C0", "House connection", kind=BillingPoint.Kind.COMMON_AREA, floor="-1"
        ),
        main,
        "352110",
    )
    _apartments(prop, code, main)
    _shops(prop, code)
    _parking(prop, code)
    _common_areas(prop, code)
    _replacement(code)
    _spares(code)
    _office(org, office_city)
