"""Billing batches and bill runs.

A *batch* groups subscriptions billed together on one cycle (monthly, quarterly, yearly),
on a billing day, with options (auto-issue or review first; email statements). A *bill
run* is one execution of a batch for one period ``[period_start, period_end)`` (local
dates, end exclusive).

Why items and chunks are rows: several workers on several machines share a run, and any of
them may die mid-chunk. A chunk is claimed with a conditional UPDATE (``status='pending'``
or a lease that ran out → ``running`` with a new lease; go on only if exactly one row
changed) and its invoices, its items' outcomes and its own ``done`` are written in one
transaction, so a killed worker leaves the chunk as it was before and the next claim
redoes it. The invoice exclusion constraint (one non-void invoice per tenant, billing point
and period) is the last wall: a run started twice cannot bill anyone twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from billspree.core.scoping import OrganizationScopedModel
from billspree.core.validators import validate_one_line


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"


class BillingBatch(OrganizationScopedModel):
    """A named group of subscriptions billed together on a cycle."""

    name = models.CharField(validators=[validate_one_line], max_length=100)
    cycle = models.CharField(max_length=10, choices=BillingCycle.choices,
                             default=BillingCycle.MONTHLY)
    billing_day = models.PositiveSmallIntegerField(
        default=1,
        help_text="Day of the month (1–28) the run starts, for the period that has just ended.",
    )
    anchor_month = models.PositiveSmallIntegerField(
        default=1,
        help_text="Quarterly and yearly cycles: the month (1–12) a period starts in "
                  "(1 = January–March, … for quarters; 1 = calendar year).",
    )
    auto_issue = models.BooleanField(
        default=False,
        help_text="Issue the drafts at once; otherwise they wait for a manager's review.",
    )
    send_statements = models.BooleanField(
        default=True, help_text="Email each tenant their PDF statement once issued.",
    )
    schedule_enabled = models.BooleanField(
        default=False, help_text="Start a run automatically on the billing day.",
    )
    schedule_time = models.TimeField(
        default="06:00",
        help_text="Local time (organization's time zone) the scheduled run starts.",
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", editable=False,
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "billing batches"
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="batch_unique_name"),
            models.CheckConstraint(condition=Q(billing_day__gte=1, billing_day__lte=28),
                                   name="batch_billing_day_1_28"),
            models.CheckConstraint(condition=Q(anchor_month__gte=1, anchor_month__lte=12),
                                   name="batch_anchor_month_1_12"),
        ]

    def __str__(self) -> str:
        return self.name


class BillRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    REVIEW = "review", "Waiting for review"
    ISSUING = "issuing", "Issuing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Finished with failures"
    CANCELLED = "cancelled", "Cancelled"


class BillRunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    PORTAL = "portal", "Portal"
    API = "api", "API"


class BillRun(OrganizationScopedModel):
    """One execution of a batch for one period. One live run per batch and period."""

    batch = models.ForeignKey(BillingBatch, on_delete=models.PROTECT, related_name="runs")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    status = models.CharField(max_length=10, choices=BillRunStatus.choices,
                              default=BillRunStatus.QUEUED)
    trigger = models.CharField(max_length=10, choices=BillRunTrigger.choices,
                               default=BillRunTrigger.PORTAL)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    auto_issue = models.BooleanField(default=False, help_text="Copied from the batch at start.")
    send_statements = models.BooleanField(default=True, help_text="Copied from the batch.")
    total_items = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "period_start", "period_end"],
                condition=~Q(status="cancelled"), name="bill_run_one_live_per_period",
            ),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")),
                                   name="bill_run_period_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.batch} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class BillRunChunk(OrganizationScopedModel):
    """A slice of a run's items that one worker processes in one transaction."""

    run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=ChunkStatus.choices,
                              default=ChunkStatus.PENDING)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="bill_run_chunk_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run} chunk {self.number}"


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CREATED = "created", "Invoiced"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class BillRunItem(OrganizationScopedModel):
    """One subscription of a run and what became of it (the run report)."""

    run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="items")
    chunk = models.ForeignKey(BillRunChunk, on_delete=models.CASCADE, related_name="items")
    subscription = models.ForeignKey("billing.Subscription", on_delete=models.PROTECT,
                                     related_name="+")
    status = models.CharField(max_length=8, choices=ItemStatus.choices,
                              default=ItemStatus.PENDING)
    invoice_count = models.PositiveSmallIntegerField(default=0)
    diagnostics = models.JSONField(
        default=list, blank=True,
        help_text="The preview diagnostics: why it was skipped, or what to check.",
    )
    error = models.TextField(blank=True, help_text="Why it failed (an unexpected error).")
    attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "subscription"], name="bill_run_item_unique"),
        ]
        indexes = [models.Index(fields=["run", "status"], name="bill_run_item_status")]

    def __str__(self) -> str:
        return f"{self.run} · subscription {self.subscription_id}: {self.status}"
