"""Properties, billing points (connections), meters and meter assignments.

A meter is *active* iff it has an open assignment. The database, not only Python, keeps
assignments sane: at most one open assignment per meter (partial unique index) and no
two assignments of one meter overlapping in time (exclusion constraint over a tstzrange).
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from djmoney.models.fields import CurrencyField
from timezone_field import TimeZoneField

from billspree.core.db import TstzRange  # migrations refer to it as meters.models.TstzRange
from billspree.core.scoping import OrganizationScopedModel
from billspree.core.validators import validate_one_line


class Property(OrganizationScopedModel):
    """A building or site; its time zone and currency govern billing periods and prices."""

    class Kind(models.TextChoices):
        MALL = "mall", "Shopping mall"
        OFFICE = "office", "Office building"
        APARTMENTS = "apartments", "Apartment block"
        DORMITORY = "dormitory", "Dormitory"
        INDUSTRIAL = "industrial", "Industrial park"
        MIXED = "mixed", "Mixed use"
        OTHER = "other", "Other"

    name = models.CharField(validators=[validate_one_line], max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.APARTMENTS)
    address = models.TextField(blank=True)
    time_zone = TimeZoneField(default="UTC", use_pytz=False)
    currency = CurrencyField(default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "properties"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="property_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class BillingPoint(OrganizationScopedModel):
    """A unit where consumption is measured and billed (the API also calls it a connection)."""

    class Kind(models.TextChoices):
        APARTMENT = "apartment", "Apartment"
        SHOP = "shop", "Shop"
        OFFICE = "office", "Office"
        PARKING = "parking", "Parking"
        COMMON_AREA = "common_area", "Common area"
        OTHER = "other", "Other"

    property = models.ForeignKey(Property, on_delete=models.PROTECT, related_name="billing_points")
    connection_id = models.CharField(
        max_length=64,
        help_text="The connection number integrators and utilities use (connectionID).",
    )
    name = models.CharField(validators=[validate_one_line], max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.APARTMENT)
    floor = models.CharField(max_length=16, blank=True)
    area_m2 = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["property__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "connection_id"], name="billing_point_unique_connection_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.connection_id})"


class MeterType(models.TextChoices):
    ELECTRICITY = "electricity", "Electricity"
    GAS = "gas", "Gas"
    COLD_WATER = "cold_water", "Cold water"
    HOT_WATER = "hot_water", "Hot water"
    HEAT = "heat", "Heat"
    COOLING = "cooling", "Cooling"


#: Units a meter of each type may register, first one the default.
UNITS_BY_TYPE: dict[str, tuple[str, ...]] = {
    MeterType.ELECTRICITY: ("kWh", "MWh", "Wh"),
    MeterType.GAS: ("m³", "kWh", "MWh", "ft³"),
    MeterType.COLD_WATER: ("m³", "l", "gal"),
    MeterType.HOT_WATER: ("m³", "l", "gal"),
    MeterType.HEAT: ("kWh", "MWh", "GJ"),
    MeterType.COOLING: ("kWh", "MWh", "GJ"),
}


class Meter(OrganizationScopedModel):
    type = models.CharField(max_length=16, choices=MeterType.choices)
    unit = models.CharField(max_length=8)
    serial_number = models.CharField(
        max_length=64, help_text="As printed on the device; never changes (meterNumber in the API)."
    )
    label = models.CharField(validators=[validate_one_line],
        max_length=200, blank=True, help_text="A name people recognise; may change."
    )
    multiplier = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text="CT ratio or pulse factor: consumption = register delta × multiplier.",
    )
    register_digits = models.PositiveSmallIntegerField(
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(15)],
        help_text="Digits before the decimal point; the register rolls over to 0 after 10^digits.",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sub_meters",
        help_text="The main meter upstream of this sub-meter.",
    )
    notes = models.TextField(blank=True)
    rated_capacity = models.DecimalField(
        "rated capacity",
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(
            Decimal("0.001"), message="The rated capacity must be more than 0 kW.")],
        help_text="The circuit's rated load in kW (e.g. the feeder's breaker rating); the load "
        "analysis compares power with it. Blank: unknown.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["serial_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "serial_number"], name="meter_unique_serial"
            ),
            models.CheckConstraint(
                condition=Q(rated_capacity__isnull=True) | Q(rated_capacity__gt=0),
                name="meter_rated_capacity_positive",
                violation_error_message="The rated capacity must be more than 0 kW.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.serial_number} {self.label}".strip()


class MeterAssignment(OrganizationScopedModel):
    """A meter at a billing point over [connected_at, removed_at)."""

    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="assignments")
    billing_point = models.ForeignKey(
        BillingPoint, on_delete=models.PROTECT, related_name="assignments"
    )
    connected_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    initial_reading = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    final_reading = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-connected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["meter"],
                condition=Q(removed_at__isnull=True),
                name="assignment_one_open_per_meter",
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gt=F("connected_at")),
                name="assignment_removed_after_connected",
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(final_reading__isnull=False),
                name="assignment_removed_has_final_reading",
            ),
            ExclusionConstraint(
                name="assignment_no_overlap_per_meter",
                expressions=[
                    ("meter", RangeOperators.EQUAL),
                    (TstzRange("connected_at", "removed_at"), RangeOperators.OVERLAPS),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter} at {self.billing_point}"

    @property
    def is_open(self) -> bool:
        return self.removed_at is None


class SensorKind(models.TextChoices):
    TEMPERATURE = "temperature", "Temperature"
    HUMIDITY = "humidity", "Humidity"
    TEMPERATURE_HUMIDITY = "temperature_humidity", "Temperature and humidity"
    OTHER = "other", "Other"


class Sensor(OrganizationScopedModel):
    """An environmental sensor (temperature, humidity…) at a property, in an area of it or
    at a billing point. Its values are measurements (``readings.MeasurementSeries``).

    A device of its own type rather than a meter type: a meter has a register, a unit of
    consumption, assignments, a multiplier and rollover, and an active meter is billed;
    a sensor has none of these, and as a meter type every billing, consumption and
    "meters not read" query would have to learn to leave it out.
    """

    kind = models.CharField(max_length=24, choices=SensorKind.choices)
    serial_number = models.CharField(
        max_length=64,
        help_text="As printed on the device; never changes (sensorNumber in the API).",
    )
    label = models.CharField(validators=[validate_one_line], max_length=200, blank=True)
    property = models.ForeignKey(Property, on_delete=models.PROTECT, related_name="sensors")
    billing_point = models.ForeignKey(
        BillingPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="sensors",
        help_text="The billing point it is in, if any (must be at the same property).",
    )
    area = models.CharField(
        validators=[validate_one_line], max_length=200, blank=True,
        help_text="Where at the property, e.g. “Server room, 2nd floor”.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["serial_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "serial_number"], name="sensor_unique_serial"
            )
        ]

    def __str__(self) -> str:
        return f"{self.serial_number} {self.label}".strip()
