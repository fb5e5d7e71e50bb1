"""Modbus gateways, meter profiles (which registers hold what), register maps, poll history.

Addresses are stored **0-based**, as they travel on the wire (the PDU address). Meter
manuals often print 1-based "register numbers" with a type prefix: "30073" means input
register (3xxxx → function code 4) number 73, i.e. address 72 = 0x0048; "40001" is
holding register (function code 3) address 0. Entering the printed number as the address
reads the register one further along: the most common Modbus configuration mistake.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billspree.core.scoping import OrganizationScopedModel
from billspree.core.validators import validate_one_line
from gateways.validators import HOST_HELP, U16_MESSAGE, relay_errors, validate_host
from meters.models import MeterType
from readings.measurements.models import CONVERSIONS, UNITS, Quantity

ADDRESS_HELP = (
    "0-based address as sent on the wire. A manual's 1-based number drops its prefix and "
    "loses 1: input register “30073” → function 4, address 72 (0x0048); holding register "
    "“40001” → function 3, address 0."
)


class Transport(models.TextChoices):
    TCP = "tcp", "Modbus TCP"
    RTU_OVER_TCP = "rtu_over_tcp", "Modbus RTU over TCP"


class FunctionCode(models.IntegerChoices):
    HOLDING = 3, "3 · holding registers (4xxxx)"
    INPUT = 4, "4 · input registers (3xxxx)"


class DataType(models.TextChoices):
    U16 = "u16", "unsigned 16-bit"
    I16 = "i16", "signed 16-bit"
    U32 = "u32", "unsigned 32-bit"
    I32 = "i32", "signed 32-bit"
    U64 = "u64", "unsigned 64-bit"
    I64 = "i64", "signed 64-bit"
    F32 = "f32", "float 32-bit (IEEE 754)"
    F64 = "f64", "float 64-bit (IEEE 754)"


class WordOrder(models.TextChoices):
    BIG = "big", "High word first (big-endian, ABCD)"
    LITTLE = "little", "Low word first (word-swapped, CDAB)"


class RelayKind(models.TextChoices):
    NONE = "", "No relay or valve"
    COIL = "coil", "Coil (function 5)"
    REGISTER = "register", "Holding register (function 6)"


class RelayState(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    CONNECTED = "connected", "Supply on"
    DISCONNECTED = "disconnected", "Supply off"


class Health(models.TextChoices):
    UNKNOWN = "unknown", "Not polled yet"
    ONLINE = "online", "Online"
    DEGRADED = "degraded", "Errors"
    OFFLINE = "offline", "Offline"
    DISABLED = "disabled", "Disabled"


class HealthFields(models.Model):
    """Counters kept by polls: what the connectivity page and the API show."""

    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


builtins_property = property  # ``Gateway.property`` (the FK) shadows the builtin in its body


class Gateway(OrganizationScopedModel, HealthFields):
    """A Modbus TCP (or RTU-over-TCP) gateway in front of the RS-485 bus of a property."""

    property = models.ForeignKey(
        "meters.Property", on_delete=models.PROTECT, related_name="gateways"
    )
    name = models.CharField(validators=[validate_one_line], max_length=200)
    transport = models.CharField(max_length=16, choices=Transport.choices, default=Transport.TCP)
    host = models.CharField(max_length=255, validators=[validate_host], help_text=HOST_HELP)
    port = models.PositiveIntegerField(
        default=502, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    timeout_ms = models.PositiveIntegerField(
        default=2000,
        validators=[MinValueValidator(50), MaxValueValidator(60000)],
        help_text="How long to wait for each answer, in milliseconds.",
    )
    retries = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(10)],
        help_text="Further attempts after a timeout or lost connection (with backoff).",
    )
    request_delay_ms = models.PositiveIntegerField(
        default=20,
        validators=[MaxValueValidator(10000)],
        help_text="Pause between two requests; slow RS-485 buses need some silence.",
    )
    poll_interval_s = models.PositiveIntegerField(
        default=900,
        validators=[MinValueValidator(10), MaxValueValidator(86400)],
        help_text="Seconds between scheduled polls (900 = every 15 minutes).",
    )
    offline_after = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Missed polls after which the gateway counts as offline.",
    )
    enabled = models.BooleanField(default=True)
    poll_measurements = models.BooleanField(
        default=False,
        help_text="Also read the instantaneous values the meters' profiles define (power, "
        "voltage, current…) after their readings, each poll, and store them as measurements. "
        "A value that does not answer never holds up or fails the readings.",
    )
    notes = models.TextField(blank=True)
    #: The poll slot (scheduled) last claimed; a poll runs only if it moves this forward.
    last_slot = models.DateTimeField(null=True, blank=True, editable=False)
    #: Manual "poll now" claims, 10-second grain, so a double click polls once.
    last_manual_slot = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="gateway_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @builtins_property
    def silence_limit(self) -> timedelta:
        return timedelta(seconds=self.poll_interval_s * self.offline_after)

    def health(self, now: datetime | None = None) -> str:
        """Offline after ``offline_after`` failed polls in a row, or as long without a
        successful one (the polls themselves stopped: worker down, gateway disabled...)."""
        now = now or timezone.now()
        if not self.enabled:
            return Health.DISABLED
        if self.last_poll_at is None:
            return Health.UNKNOWN
        if self.consecutive_failures >= self.offline_after:
            return Health.OFFLINE
        if now - (self.last_success_at or self.created_at) > self.silence_limit:
            return Health.OFFLINE
        errors_now = self.last_error_at is not None and self.last_error_at >= self.last_poll_at
        if self.consecutive_failures or errors_now:
            return Health.DEGRADED
        return Health.ONLINE


class Profile(OrganizationScopedModel):
    """What a kind of meter answers where: its values and its relay (if any).

    Built-in profiles (``builtin`` set) are copied into every organization from
    ``gateways.profiles`` and are read-only; custom ones belong to the organization.
    """

    name = models.CharField(validators=[validate_one_line], max_length=200)
    builtin = models.CharField(max_length=40, blank=True, editable=False)
    manufacturer = models.CharField(max_length=100, blank=True)
    meter_type = models.CharField(
        max_length=16, choices=MeterType.choices, default=MeterType.ELECTRICITY
    )
    description = models.TextField(blank=True)
    relay_kind = models.CharField(
        max_length=8, choices=RelayKind.choices, default=RelayKind.NONE, blank=True
    )
    relay_address = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(65535)], help_text=ADDRESS_HELP
    )
    relay_on_value = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(0, U16_MESSAGE), MaxValueValidator(65535, U16_MESSAGE)],
        help_text="Value written to switch the supply on (coil: 1 = ON).",
    )
    relay_off_value = models.PositiveIntegerField(
        default=0,
        validators=[MinValueValidator(0, U16_MESSAGE), MaxValueValidator(65535, U16_MESSAGE)],
        help_text="Value written to switch the supply off (coil: 0 = OFF).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-builtin", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="profile_unique_name"),
            models.UniqueConstraint(
                fields=["organization", "builtin"],
                condition=~Q(builtin=""),
                name="profile_unique_builtin",
            ),
            models.CheckConstraint(
                condition=Q(relay_kind="") | Q(relay_address__isnull=False),
                name="profile_relay_has_address",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if errors := relay_errors(self):
            raise ValidationError(errors)

    @property
    def is_builtin(self) -> bool:
        return bool(self.builtin)

    @property
    def has_relay(self) -> bool:
        return bool(self.relay_kind)

    def reading_value(self) -> ProfileValue | None:
        return next((v for v in self.values.all() if v.is_reading), None)


class ProfileValue(OrganizationScopedModel):
    """One quantity of a profile: where it is, how it is encoded, how it scales."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="values")
    key = models.SlugField(max_length=40, help_text="e.g. energy_import, volume, power.")
    label = models.CharField(validators=[validate_one_line], max_length=100)
    function_code = models.PositiveSmallIntegerField(
        choices=FunctionCode.choices, default=FunctionCode.INPUT
    )
    address = models.PositiveIntegerField(
        validators=[MaxValueValidator(65535)], help_text=ADDRESS_HELP
    )
    data_type = models.CharField(max_length=3, choices=DataType.choices, default=DataType.F32)
    word_order = models.CharField(max_length=6, choices=WordOrder.choices, default=WordOrder.BIG)
    scale = models.DecimalField(
        max_digits=16,
        decimal_places=8,
        default=Decimal("1"),
        help_text="Multiply the raw number by this (0.1 for a register in tenths of kWh).",
    )
    unit = models.CharField(
        max_length=8, blank=True,
        help_text="Unit after scaling, e.g. kWh or m³ (none only for a power factor).",
    )
    is_reading = models.BooleanField(
        default=False,
        help_text="This is the cumulative register stored as the meter's readings.",
    )
    quantity = models.CharField(
        max_length=24, choices=Quantity.choices, blank=True,
        help_text="Store this value as a measurement of this quantity (on gateways that poll "
        "measurements); its unit must be the quantity's or convert to it (kW → W).",
    )

    class Meta:
        ordering = ["profile", "-is_reading", "address"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "key"], name="profile_value_unique_key"),
            models.UniqueConstraint(
                fields=["profile"], condition=Q(is_reading=True), name="profile_one_reading_value"
            ),
            models.CheckConstraint(condition=~Q(scale=0), name="profile_value_scale_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.profile}: {self.label}"

    def clean(self) -> None:
        super().clean()
        if not self.unit and not (self.quantity and UNITS[self.quantity] == ""):
            raise ValidationError({"unit": "This field cannot be blank."})
        if not self.quantity:
            return
        if self.is_reading:
            raise ValidationError({"quantity": "The reading register is stored as readings, "
                                               "not as a measurement."})
        stored = UNITS[self.quantity]
        if self.unit != stored and (stored, self.unit) not in CONVERSIONS:
            raise ValidationError({"unit": f"{self.get_quantity_display()} is stored in "
                                           f"{stored or 'no unit'}; {self.unit!r} does not "
                                           "convert to it."})

    @property
    def measurement_factor(self) -> float:
        """What a value in this profile's unit is multiplied by to be in the quantity's."""
        stored = UNITS[self.quantity]
        return 1.0 if self.unit == stored else CONVERSIONS[(stored, self.unit)]

    @property
    def register_count(self) -> int:
        return {"16": 1, "32": 2, "64": 4}[self.data_type[1:]]

    @property
    def printed_number(self) -> int:
        """The 1-based number manuals print: 3xxxx (input) / 4xxxx (holding)."""
        return (30001 if self.function_code == FunctionCode.INPUT else 40001) + self.address


class RegisterMap(OrganizationScopedModel, HealthFields):
    """How one meter is read: through which gateway, at which device (unit) id, with which
    profile. Per-meter health lives here too."""

    meter = models.OneToOneField(
        "meters.Meter", on_delete=models.CASCADE, related_name="register_map"
    )
    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="register_maps")
    device_id = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(247)],
        help_text="Modbus device (unit / slave) id of the meter on the bus, 1–247 "
        "(0 is broadcast: meters do not answer it).",
    )
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="register_maps")
    enabled = models.BooleanField(default=True)
    last_value = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    relay_state = models.CharField(
        max_length=12, choices=RelayState.choices, default=RelayState.UNKNOWN
    )
    relay_changed_at = models.DateTimeField(null=True, blank=True)
    relay_read_at = models.DateTimeField(
        null=True, blank=True, help_text="When the relay's position was last read from the meter."
    )
    #: The reading register this meter was read from before its profile's reading register
    #: changed (a corrected built-in profile, a move to another profile), while the switch
    #: is pending: {function_code, address, data_type, word_order, scale, reason}. The next
    #: poll reads both registers and closes the meter's assignment at that instant with the
    #: old register's value and reopens it with the new one's, like a register replacement
    #: (``gateways.services.register_switch``): no consumption is computed across the two.
    register_switch = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["gateway__name", "device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "device_id"], name="register_map_unique_device"
            ),
            models.CheckConstraint(
                condition=Q(device_id__gte=1, device_id__lte=247),
                name="register_map_device_id_range",
                violation_error_message="The device id must be between 1 and 247.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter} @ {self.gateway} #{self.device_id}"

    def health(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        gateway = self.gateway
        if not (self.enabled and gateway.enabled):
            return Health.DISABLED
        if self.last_poll_at is None:
            return Health.UNKNOWN
        if self.consecutive_failures >= gateway.offline_after:
            return Health.OFFLINE
        if self.consecutive_failures:
            return Health.DEGRADED
        if self.last_success_at and now - self.last_success_at > gateway.silence_limit:
            return Health.OFFLINE
        return Health.ONLINE


def _sensor_layouts() -> list[tuple[str, str]]:
    from gateways.profiles import SENSOR_PROFILES

    return [(key, p.name) for key, p in SENSOR_PROFILES.items()]


class SensorMap(OrganizationScopedModel):
    """How an environmental sensor is read: through which gateway, at which device id,
    with which built-in register layout (``gateways.profiles.SENSOR_PROFILES``). Its values
    are stored as measurements by gateways that poll measurements."""

    sensor = models.OneToOneField(
        "meters.Sensor", on_delete=models.CASCADE, related_name="register_map"
    )
    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="sensor_maps")
    device_id = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(247)],
        help_text="Modbus device (unit / slave) id of the sensor on the bus, 1–247.",
    )
    layout = models.CharField(max_length=40, choices=_sensor_layouts)
    enabled = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["gateway__name", "device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "device_id"], name="sensor_map_unique_device"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sensor} @ {self.gateway} #{self.device_id}"


class PollRun(OrganizationScopedModel):
    """One poll of one gateway: the slot it claimed and what came of it."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        PARTIAL = "partial", "Partly failed"
        FAILED = "failed", "Failed"

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="poll_runs")
    slot = models.DateTimeField()
    manual = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    meters_ok = models.PositiveIntegerField(default=0)
    readings_stored = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "slot", "manual"], name="poll_run_unique_slot"
            )
        ]
        indexes = [
            models.Index(fields=["gateway", "-started_at"], name="poll_run_recent"),
            # the runs still running: each poll closes its gateway's interrupted ones
            models.Index(fields=["gateway"], name="poll_run_running",
                         condition=models.Q(status="running")),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.slot:%Y-%m-%d %H:%M:%S} {self.status}"


class GatewayError(OrganizationScopedModel):
    """Something that went wrong talking to a gateway or a meter behind it."""

    class Kind(models.TextChoices):
        CONNECTION = "connection", "Connection failed or lost"
        TIMEOUT = "timeout", "No answer (timeout)"
        EXCEPTION = "exception", "Modbus exception response"
        INVALID_VALUE = "invalid", "Invalid value"
        REJECTED = "rejected", "Reading rejected by validation"
        RELAY = "relay", "Relay write failed"
        CONFIG = "config", "Configuration"

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="errors")
    register_map = models.ForeignKey(
        RegisterMap, null=True, blank=True, on_delete=models.CASCADE, related_name="errors"
    )
    poll_run = models.ForeignKey(
        PollRun, null=True, blank=True, on_delete=models.CASCADE, related_name="errors"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.CharField(max_length=300)
    exception_code = models.PositiveSmallIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["gateway", "-occurred_at"], name="gateway_error_recent")]

    def __str__(self) -> str:
        return f"{self.gateway}: {self.message}"
