"""Measurement series, measurements and their 15-minute aggregates.

Layout, built like ``readings.Reading`` for billions of rows:

* :class:`MeasurementSeries` is one quantity of one device (the active power of meter M,
  the temperature of sensor S), a small ordinary table. It carries what every value of
  the series shares: the device (a meter *or* a sensor: exactly one), the quantity and
  its unit. Each quantity has one unit (W, V, A, Hz, °C, %): values in other units are
  converted on the way in, so no aggregate ever mixes units.
* :class:`Measurement` rows are narrow: organization, series, instant, value, source;
  ``PARTITION BY RANGE (measured_at)`` with one partition per UTC month
  (``readings.measurements.partitions``). The primary key ``(series_id, measured_at)``
  is "one value per device, quantity and instant" (ingestion is idempotent on it) and
  the index every per-device query by time needs. No other index: organization-wide
  queries go through the series (a few rows per device), and every index slows
  ingestion.
* :class:`MeasurementAggregate` rows are min / avg / max (and when min and max
  occurred) of a series over a 15-minute bucket, written when raw rows pass the
  retention (``readings.measurements.retention``). Buckets are absolute UTC intervals
  ``[t, t + 15 min)``: a day with a DST change has 92 or 100 of them locally, never
  a bucket of 0 or 30 minutes, and every time-zone offset in use is a multiple of 15
  minutes, so local quarter hours are buckets too.

Why ``double precision`` and not ``numeric`` for the value: these are physical
measurements (a float32 from a meter has about 7 significant digits; a double holds it
exactly), never money and never summed into anything billed; they are compared, min'd,
max'd and averaged. A double is 8 bytes fixed and aggregates natively, a numeric is
variable-length (≥ 10 bytes here) and several times slower to average over millions of
rows. Consumption, which is billed, stays Decimal in ``Reading``.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q

from billspree.core.scoping import OrganizationOwnedModel, OrganizationScopedModel

#: The length of a downsampled bucket (absolute, UTC-aligned).
BUCKET = timedelta(minutes=15)


class MeasurementRow(OrganizationOwnedModel):
    """The organization-owned base of the big tables (scoped manager, save rule, no
    ``public_id``, organization column unindexed), as ``readings.OrganizationScopedRow``;
    its own so that this module does not import ``readings.models`` (which imports it)."""

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", editable=False,
        db_index=False,
    )

    class Meta:
        abstract = True


class Source(models.TextChoices):
    """Where a measurement came from (the same words as a reading's source)."""

    GATEWAY = "gateway", "Gateway"
    UPLOAD = "upload", "CSV upload"
    API = "api", "API"


class Quantity(models.TextChoices):
    ACTIVE_POWER = "active_power", "Active power (total)"
    ACTIVE_POWER_L1 = "active_power_l1", "Active power L1"
    ACTIVE_POWER_L2 = "active_power_l2", "Active power L2"
    ACTIVE_POWER_L3 = "active_power_l3", "Active power L3"
    VOLTAGE_L1 = "voltage_l1", "Voltage L1-N"
    VOLTAGE_L2 = "voltage_l2", "Voltage L2-N"
    VOLTAGE_L3 = "voltage_l3", "Voltage L3-N"
    CURRENT_L1 = "current_l1", "Current L1"
    CURRENT_L2 = "current_l2", "Current L2"
    CURRENT_L3 = "current_l3", "Current L3"
    POWER_FACTOR = "power_factor", "Power factor (total)"
    POWER_FACTOR_L1 = "power_factor_l1", "Power factor L1"
    POWER_FACTOR_L2 = "power_factor_l2", "Power factor L2"
    POWER_FACTOR_L3 = "power_factor_l3", "Power factor L3"
    FREQUENCY = "frequency", "Frequency"
    TEMPERATURE = "temperature", "Temperature"
    HUMIDITY = "humidity", "Relative humidity"


def _unit_of(quantity: str) -> str:
    prefix = quantity.rsplit("_l", 1)[0] if quantity[-3:-1] == "_l" else quantity
    return {
        "active_power": "W", "voltage": "V", "current": "A", "power_factor": "",
        "frequency": "Hz", "temperature": "°C", "humidity": "%",
    }[prefix]


#: The unit every value of a quantity is stored in.
UNITS: dict[str, str] = {q.value: _unit_of(q.value) for q in Quantity}
#: Other units accepted on the way in, and the factor to the stored unit.
CONVERSIONS: dict[tuple[str, str], float] = {
    ("W", "kW"): 1000.0, ("W", "MW"): 1_000_000.0, ("V", "kV"): 1000.0, ("A", "mA"): 0.001,
}
#: Plausible range of each kind of quantity (a value outside is refused, with the range).
RANGES: dict[str, tuple[float, float]] = {
    "W": (-1e9, 1e9), "V": (0.0, 1e6), "A": (-1e6, 1e6), "": (-1.0, 1.0),
    "Hz": (0.0, 1000.0), "°C": (-100.0, 200.0), "%": (0.0, 100.0),
}
#: Quantities an environmental sensor measures; meters measure the others.
SENSOR_QUANTITIES = frozenset({Quantity.TEMPERATURE, Quantity.HUMIDITY})


class MeasurementSeries(OrganizationScopedModel):
    """One quantity of one device: a meter or an environmental sensor (exactly one)."""

    meter = models.ForeignKey(
        "meters.Meter", null=True, blank=True, on_delete=models.PROTECT,
        related_name="measurement_series",
    )
    sensor = models.ForeignKey(
        "meters.Sensor", null=True, blank=True, on_delete=models.PROTECT,
        related_name="measurement_series",
    )
    quantity = models.CharField(max_length=24, choices=Quantity.choices)
    unit = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "measurement series"
        ordering = ["quantity"]
        constraints = [
            models.CheckConstraint(
                condition=Q(meter__isnull=True, sensor__isnull=False)
                | Q(meter__isnull=False, sensor__isnull=True),
                name="measurement_series_one_device",
            ),
            models.UniqueConstraint(
                fields=["meter", "quantity"], condition=Q(meter__isnull=False),
                name="measurement_series_unique_meter",
            ),
            models.UniqueConstraint(
                fields=["sensor", "quantity"], condition=Q(sensor__isnull=False),
                name="measurement_series_unique_sensor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id or self.sensor_id} {self.quantity}"


class Measurement(MeasurementRow):
    """An instantaneous value of a series at an instant (partitioned; see module doc)."""

    pk = models.CompositePrimaryKey("series_id", "measured_at")
    series = models.ForeignKey(
        MeasurementSeries, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    measured_at = models.DateTimeField()
    value = models.FloatField()
    source = models.CharField(max_length=8, choices=Source.choices)

    class Meta:
        ordering = ["series_id", "measured_at"]

    def __str__(self) -> str:
        return f"{self.series_id} {self.measured_at:%Y-%m-%d %H:%M:%S} {self.value}"


class MeasurementAggregate(MeasurementRow):
    """Min, average and max of a series over the 15-minute UTC bucket from ``bucket_start``
    (partitioned by month like :class:`Measurement`)."""

    pk = models.CompositePrimaryKey("series_id", "bucket_start")
    series = models.ForeignKey(
        MeasurementSeries, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    bucket_start = models.DateTimeField()
    samples = models.PositiveIntegerField()
    min_value = models.FloatField()
    min_at = models.DateTimeField()
    avg_value = models.FloatField()
    max_value = models.FloatField()
    max_at = models.DateTimeField()

    class Meta:
        ordering = ["series_id", "bucket_start"]

    def __str__(self) -> str:
        return f"{self.series_id} {self.bucket_start:%Y-%m-%d %H:%M} avg {self.avg_value}"
