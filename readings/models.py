"""Readings, the uploads they came in, replaced values, anomalies, and per-meter state.

The ``Reading`` table is built for billions of rows (10,000 meters every 15 minutes is
350 M rows a year):

* It is a PostgreSQL table ``PARTITION BY RANGE (read_at)`` with one partition per
  calendar month (UTC), created ahead by a scheduled task and on demand by ingestion
  (see ``readings.partitions``). The migration creates it with raw SQL; Django only
  knows its state.
* Its primary key is ``(meter_id, read_at)``: "one reading per meter and instant" is the
  key itself, it includes the partition key (PostgreSQL requires that for unique
  constraints on a partitioned table), and its btree is exactly the index "readings of
  meter M between t1 and t2" needs. A second index ``(organization_id, read_at)`` serves
  organization-wide lists by time. Nothing else is indexed: every index slows ingestion.
* There is no ``id`` and no ``public_id`` (a UUID per row would cost 16 bytes and a
  global unique index cannot exist on a partitioned table). A reading is addressed by
  its meter's public id and its instant. That is why ``Reading`` and ``MeterReadingState``
  do not inherit ``OrganizationScopedModel`` (which adds both) but
  :class:`OrganizationScopedRow`, which keeps the same scoped manager and save rule.
* "Who created it" is stored once per batch: every reading points at the ``Upload`` it
  came in (a CSV file, an API batch, a manual entry, a gateway poll), which records the
  user or API key. Per-row user FKs would make deleting a user scan billions of rows.
* ``total`` is the register value unwrapped across rollovers (a running sum of deltas),
  so consumption between two instants is a difference of two interpolated totals, with
  no scan of the readings in between (see ``readings.selectors``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from billspree.core.files import random_name, uploads_storage
from billspree.core.scoping import OrganizationOwnedModel, OrganizationScopedModel

VALUE_DIGITS = 20
VALUE_PLACES = 4


class OrganizationScopedRow(OrganizationOwnedModel):
    """The core's organization-owned base (scoped manager, save rule, no ``public_id``),
    with the organization column left unindexed: the (organization, read_at) index
    already serves it, and every extra index slows ingestion of billions of rows."""

    organization = models.ForeignKey(
        "core.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        db_index=False,
    )

    class Meta:
        abstract = True


class Source(models.TextChoices):
    GATEWAY = "gateway", "Gateway"
    UPLOAD = "upload", "CSV upload"
    API = "api", "API"
    MANUAL = "manual", "Manual entry"
    ESTIMATE = "estimate", "Estimate"


class Quality(models.TextChoices):
    ACTUAL = "actual", "Actual"
    ESTIMATED = "estimated", "Estimated"
    CORRECTED = "corrected", "Corrected"


def upload_file_path(instance: Upload, filename: str) -> str:
    """A random name: the sender's file name stays on the row (``filename``), not in storage."""
    return random_name("readings/uploads", filename, extensions=(".csv", ".txt"))


def error_report_path(instance: Upload, filename: str) -> str:
    return random_name("readings/reports", filename, extensions=(".csv",))


class Upload(OrganizationScopedModel):
    """One delivery of readings: a CSV file, an API batch, a manual entry or a gateway poll.

    It records who sent it, its progress while a task works on it, its outcome counts,
    the per-row error report, and for API batches the ``Idempotency-Key`` with the
    stored response that a resubmission gets back.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Imported"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=8, choices=Source.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    filename = models.CharField(max_length=255, blank=True)
    # private storage, random names: served only by the scoped upload views (core.files)
    file = models.FileField(
        storage=uploads_storage, upload_to=upload_file_path, blank=True, max_length=200
    )
    note = models.CharField(max_length=200, blank=True)
    replace = models.BooleanField(default=False, help_text="Replace readings that differ.")
    all_or_nothing = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "core.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    response = models.JSONField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    replaced_count = models.PositiveIntegerField(default=0)
    anomaly_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text="The first bad rows, for the page."
    )
    error_report = models.FileField(
        storage=uploads_storage, upload_to=error_report_path, blank=True, max_length=200
    )
    failure = models.TextField(blank=True)
    impacts = models.JSONField(
        default=list, blank=True,
        help_text="What the import changed in billing (drafts marked stale, adjustments of "
        "issued invoices), as Impact.as_dict(): shown on the upload's page and in its API.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="upload_unique_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return self.filename or f"{self.get_source_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def progress_percent(self) -> int:
        if self.status in (self.Status.DONE, self.Status.REJECTED):
            return 100
        if not self.rows_total:
            return 0
        return min(100, int(self.rows_done * 100 / self.rows_total))

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.REJECTED, self.Status.FAILED)


class Reading(OrganizationScopedRow):
    """A cumulative register value of a meter at an instant (partitioned; see module doc)."""

    pk = models.CompositePrimaryKey("meter_id", "read_at")
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    read_at = models.DateTimeField()
    value = models.DecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)
    total = models.DecimalField(
        max_digits=VALUE_DIGITS + 4,
        decimal_places=VALUE_PLACES,
        help_text="Register unwrapped across rollovers: consumption is a difference of totals.",
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    quality = models.CharField(max_length=9, choices=Quality.choices, default=Quality.ACTUAL)
    upload = models.ForeignKey(
        Upload, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_index=False
    )
    is_anomaly = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["meter_id", "read_at"]
        indexes = [models.Index(fields=["organization", "read_at"], name="reading_org_read_at")]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.read_at:%Y-%m-%d %H:%M} {self.value}"


class MeterReadingState(OrganizationScopedRow):
    """The latest reading of a meter and its recent daily use, kept by ingestion.

    Ingestion locks these rows (``FOR UPDATE``, in meter order) so two concurrent
    deliveries for one meter are validated one after the other; most readings arrive
    after the latest one, so validating them needs this row only, not the big table.
    """

    meter = models.OneToOneField(
        "meters.Meter", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_value = models.DecimalField(
        max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, null=True, blank=True
    )
    last_total = models.DecimalField(
        max_digits=VALUE_DIGITS + 4, decimal_places=VALUE_PLACES, null=True, blank=True
    )
    window_days = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    window_use = models.DecimalField(
        max_digits=VALUE_DIGITS + 4, decimal_places=VALUE_PLACES, default=Decimal("0")
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.meter_id} at {self.last_read_at}: {self.last_value}"

    @property
    def daily_use(self) -> Decimal | None:
        """Average register advance per day over about the last 30 days of readings."""
        if self.window_days <= 0:
            return None
        return self.window_use / self.window_days


class ReadingRevision(OrganizationScopedModel):
    """The audit of a replaced reading value (who replaced it is on ``upload``)."""

    meter = models.ForeignKey("meters.Meter", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()
    old_value = models.DecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)
    new_value = models.DecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)
    old_source = models.CharField(max_length=8, choices=Source.choices)
    old_quality = models.CharField(max_length=9, choices=Quality.choices)
    upload = models.ForeignKey(
        Upload, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["meter", "read_at"], name="revision_meter_read_at")]

    def __str__(self) -> str:
        return f"{self.meter} {self.read_at}: {self.old_value} → {self.new_value}"


class ReadingAnomaly(OrganizationScopedModel):
    """An accepted reading that looks implausible, waiting for someone to confirm or correct."""

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        CONFIRMED = "confirmed", "Confirmed"
        CORRECTED = "corrected", "Corrected"

    meter = models.ForeignKey("meters.Meter", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()
    value = models.DecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)
    previous_read_at = models.DateTimeField(null=True, blank=True)
    previous_value = models.DecimalField(
        max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, null=True, blank=True
    )
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    upload = models.ForeignKey(
        Upload, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-read_at"]
        verbose_name_plural = "reading anomalies"
        indexes = [models.Index(fields=["organization", "status"], name="anomaly_org_status")]

    def __str__(self) -> str:
        return f"{self.meter} {self.read_at}: {self.reason}"


class DailyConsumption(OrganizationScopedRow):
    """Consumption of a meter on one local day of its property (23, 24 or 25 hours), for charts.

    A rollup of the consumption selector, kept by ingestion for the meter-days a batch
    touched (see ``readings.rollups``). Only *complete* days are stored: days that end
    at or before the meter's latest reading, so no value here is an estimate. The
    quantity is the selector's: interpolated at the local midnights, across rollover,
    from the assignment's initial value, times the multiplier.
    """

    pk = models.CompositePrimaryKey("meter_id", "day")
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField(help_text="Local date in the property's time zone.")
    quantity = models.DecimalField(max_digits=VALUE_DIGITS + 8, decimal_places=VALUE_PLACES)

    class Meta:
        ordering = ["meter_id", "day"]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.day}: {self.quantity}"


class MonthlyConsumption(OrganizationScopedRow):
    """The sum of a meter's :class:`DailyConsumption` in one local calendar month."""

    pk = models.CompositePrimaryKey("meter_id", "month")
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField(help_text="First day of the local month.")
    quantity = models.DecimalField(max_digits=VALUE_DIGITS + 8, decimal_places=VALUE_PLACES)
    days = models.PositiveSmallIntegerField(help_text="Complete days rolled up in the month.")

    class Meta:
        ordering = ["meter_id", "month"]
        indexes = [
            # an organization's months (the energy dashboard: 25 months of all its meters,
            # or this month), read from the index alone
            models.Index(fields=["organization", "month"], include=["meter", "quantity"],
                         name="monthly_org_month"),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.month:%Y-%m}: {self.quantity}"


class HourlyConsumption(OrganizationScopedRow):
    """Consumption of a meter in one hour of a complete local day, for hourly charts and reports.

    ``hour`` is the absolute instant the hour begins (stored in UTC): the hours of a local
    day are its local midnight + 0, 1, 2 … hours, so a DST day has 23 or 25 of them (in a
    zone whose offset is not a whole number of hours they start at :30 or :45 UTC; where a
    DST shift is not a whole hour the day's last bucket is shorter). Kept with the days,
    by the same code and in the same transaction (``readings.rollups``): the boundary
    totals are the consumption selector's, and each hour is the difference of the
    cumulative consumption since the start of its day segment, rounded to the stored
    places, so the hours of a day sum *exactly* to its :class:`DailyConsumption`.
    """

    pk = models.CompositePrimaryKey("meter_id", "hour")
    # No foreign-key constraints in the database (Django still cascades a deleted meter or
    # organization to its hours): the rows are derived and written millions at a time by
    # one statement, and checking two keys per row at commit cost a rebuild a quarter of
    # its time (83 s of 347 s for the demo's 6.9 million hours).
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", editable=False,
        db_index=False, db_constraint=False,
    )
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.CASCADE, related_name="+", db_index=False,
        db_constraint=False,
    )
    hour = models.DateTimeField(help_text="Start of the hour (the local day's midnight + n h).")
    quantity = models.DecimalField(max_digits=VALUE_DIGITS + 8, decimal_places=VALUE_PLACES)

    class Meta:
        ordering = ["meter_id", "hour"]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.hour:%Y-%m-%d %H:%M}: {self.quantity}"


# Measurements (instantaneous values) live in their own module; Django finds their models
# through this one.
from readings.measurements.models import (  # noqa: E402, F401
    Measurement,
    MeasurementAggregate,
    MeasurementSeries,
)
