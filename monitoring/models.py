"""Rows of monitoring: export jobs and scheduled reports.

Reports themselves keep no rows: they read the consumption rollups of ``readings``
(``HourlyConsumption``, ``DailyConsumption``, ``MonthlyConsumption``) and the issued
invoices of ``billing``. What monitoring stores is *work about reports*:

* :class:`ExportJob`: one export too large to answer inside a request (more rows than
  ``settings.EXPORT_BACKGROUND_ROWS``), written by a Celery task into the private
  ``uploads`` storage while the page polls its progress.
* :class:`ScheduledReport`: a page's export (page + query + format) emailed to chosen
  people every week or month.

Both name the page by its path and its query string, not by a report type: any page that
exports (``monitoring.exports.ExportableMixin``) can be run in the background or on a
schedule without a model change.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from billspree.core.files import random_name, uploads_storage
from billspree.core.scoping import OrganizationScopedModel


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX (Excel)"
    PDF = "pdf", "PDF"


def export_file_path(instance: ExportJob, filename: str) -> str:
    """A random name (the readable one stays on the row, ``filename``)."""
    return random_name("monitoring/exports", filename, extensions=(".xlsx", ".pdf", ".csv"))


class ExportJob(OrganizationScopedModel):
    """One background export: who asked for which page (path + query) in which format, its
    progress, and the file when done (private storage, served by a scoped view)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    page = models.CharField(max_length=200)
    query = models.TextField(blank=True)
    format = models.CharField(max_length=4, choices=ExportFormat.choices)
    table = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(storage=uploads_storage, upload_to=export_file_path, blank=True,
                            max_length=200)
    filename = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: an API request's ``Idempotency-Key`` and what it asked for (a replay answers this job)
    idempotency_key = models.CharField(max_length=200, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="monitoring_export_sweep")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="monitoring_export_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_format_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def expires_at(self):
        """When the beat removes this finished job and its file (``EXPORT_RETENTION_DAYS``)."""
        if self.finished_at is None:
            return None
        return self.finished_at + timedelta(days=settings.EXPORT_RETENTION_DAYS)

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


class ScheduledReport(OrganizationScopedModel):
    """A page's export emailed to ``recipients`` every week (on ``weekday``) or month (on
    ``day_of_month``, the month's last day when it is shorter) at ``hour`` local time of
    the organization. ``next_run_at`` is the aware instant of the next sending; the beat
    task claims a due report and advances it once (see ``monitoring.exports.schedules``)."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"

    class Period(models.TextChoices):
        PREVIOUS = "previous", "The previous week or month"
        SAVED = "saved", "The dates saved in the query"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    name = models.CharField(max_length=120)
    page = models.CharField(max_length=200)
    query = models.TextField(blank=True)
    format = models.CharField(max_length=4, choices=ExportFormat.choices,
                              default=ExportFormat.XLSX)
    recipients = models.TextField(help_text="Email addresses, separated by commas or lines.")
    frequency = models.CharField(max_length=8, choices=Frequency.choices,
                                 default=Frequency.MONTHLY)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, null=True, blank=True)
    day_of_month = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(31)])
    hour = models.PositiveSmallIntegerField(default=7, validators=[MaxValueValidator(23)])
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.PREVIOUS)
    active = models.BooleanField(default=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")
        indexes = [models.Index(fields=["active", "next_run_at"], name="monitoring_schedule_due")]
        constraints = [
            models.CheckConstraint(
                name="monitoring_schedule_has_its_day",
                condition=(models.Q(frequency="weekly", weekday__isnull=False)
                           | models.Q(frequency="monthly", day_of_month__isnull=False)),
            ),
            models.CheckConstraint(name="monitoring_schedule_hour",
                                   condition=models.Q(hour__lte=23)),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def recipient_list(self) -> list[str]:
        return [r.strip() for r in self.recipients.replace("\n", ",").split(",") if r.strip()]
