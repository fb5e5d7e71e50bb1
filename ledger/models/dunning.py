"""Dunning: the organization's reminder ladder, the notices sent, the runs that sent them,
each email of a letter, and invoice disputes.

A **level** says "this many days after the due date, send this letter (and email), charge
this fee". A **notice** is one level sent for one invoice: UNIQUE(invoice, level) makes a
level go out once per invoice whatever runs race (two beat workers, a manager pressing
"send" while beat runs). An invoice in an open **dispute** is never dunned.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from billspree.core.scoping import OrganizationScopedModel


def letter_storage():
    """Reminder letters live with statements (private storage, no public URL)."""
    from django.core.files.storage import storages

    return storages["statements"]


#: placeholders a letter's title and text may use
LETTER_PLACEHOLDERS = ("tenant", "invoice", "amount_due", "currency", "due_on", "days_overdue",
                       "fee", "organization", "level")

DEFAULT_LETTER = (
    "Dear {tenant},\n\n"
    "according to our records invoice {invoice}, due on {due_on}, is still unpaid: "
    "{amount_due} {currency} are open. Please pay the amount now. If you have paid in the "
    "meantime, please disregard this letter.\n\nKind regards,\n{organization}"
)


class DunningLevel(OrganizationScopedModel):
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=80)
    #: days after the invoice's due date
    days_overdue = models.PositiveSmallIntegerField()
    #: gross, in the invoice's currency; 0 = no fee
    fee_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    fee_tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    letter_title = models.CharField(max_length=200, default="Payment reminder")
    letter_text = models.TextField(default=DEFAULT_LETTER)
    send_email = models.BooleanField(default=True)
    #: the account is flagged (``Account.disconnection_pending_since``), nothing more
    disconnection_pending = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "position"],
                                    name="dunning_level_unique_position"),
            models.UniqueConstraint(fields=["organization", "days_overdue"],
                                    name="dunning_level_unique_days"),
            models.CheckConstraint(condition=Q(fee_amount__gte=0),
                                   name="dunning_level_fee_not_negative"),
            models.CheckConstraint(condition=Q(fee_tax_rate__gte=0, fee_tax_rate__lte=100),
                                   name="dunning_level_vat_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name} (+{self.days_overdue} days)"


class EmailStatus(models.TextChoices):
    SENT = "sent", "Emailed"
    PRINT = "print", "Print and post (no email address)"
    NOT_EMAILED = "letter", "Letter only"
    FAILED = "failed", "Email failed"


class DunningNotice(OrganizationScopedModel):
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT,
                                related_name="dunning_notices")
    level = models.ForeignKey(DunningLevel, on_delete=models.PROTECT, related_name="notices")
    account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT,
                                related_name="dunning_notices")
    run_on = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)
    #: what was open on the invoice and how late it was when the notice went out
    amount_due = models.DecimalField(max_digits=16, decimal_places=4)
    days_overdue = models.PositiveIntegerField()
    fee_entry = models.ForeignKey("ledger.LedgerEntry", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+")
    letter = models.FileField(storage=letter_storage, upload_to="dunning/%Y/%m/", blank=True,
                              max_length=300)
    recipient = models.EmailField(blank=True)
    email_status = models.CharField(max_length=8, choices=EmailStatus.choices,
                                    default=EmailStatus.NOT_EMAILED)
    email_error = models.TextField(blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+")
    #: the recorded run that sent it (empty for notices sent before runs were recorded)
    run = models.ForeignKey("ledger.DunningRun", on_delete=models.SET_NULL, null=True,
                            blank=True, related_name="notices")

    class Meta:
        ordering = ["-run_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"],
                                    name="dunning_notice_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.level.name} for {self.invoice}"


class DunningRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Sending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


#: a run in these states is still going: starting the same day again returns it
LIVE_RUN_STATUSES = (DunningRunStatus.QUEUED, DunningRunStatus.RUNNING)


class DunningRunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    PORTAL = "portal", "Portal"
    API = "api", "API"


class DunningRun(OrganizationScopedModel):
    """One sending of the reminders due on a day, by the schedule, a manager or the API.

    One live (queued or running) run per organization and day, and one scheduled run per
    day that did not fail (the hourly sweep repeats; a failed scheduled run is retried).
    The counts grow while it sends: ``planned`` when it was started, then ``sent``,
    ``skipped`` (sent meanwhile by another run, paid or disputed meanwhile) and ``failed``.
    """

    run_on = models.DateField(help_text="The day whose reminders are sent.")
    trigger = models.CharField(max_length=10, choices=DunningRunTrigger.choices,
                               default=DunningRunTrigger.PORTAL)
    status = models.CharField(max_length=8, choices=DunningRunStatus.choices,
                              default=DunningRunStatus.QUEUED)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    started_by_key = models.ForeignKey("core.ApiKey", on_delete=models.SET_NULL, null=True,
                                       blank=True, related_name="+")
    planned = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    #: what went wrong: the run's own error, or one line per notice that failed
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "run_on"],
                                    condition=Q(status__in=["queued", "running"]),
                                    name="dunning_run_one_live_per_day"),
            models.UniqueConstraint(fields=["organization", "run_on"],
                                    condition=Q(trigger="schedule") & ~Q(status="failed"),
                                    name="dunning_run_one_scheduled_per_day"),
        ]

    def __str__(self) -> str:
        return f"Reminders of {self.run_on:%Y-%m-%d} ({self.get_status_display()})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_RUN_STATUSES

    @property
    def done_count(self) -> int:
        return self.sent + self.skipped + self.failed

    @property
    def percent(self) -> int:
        if not self.is_live:
            return 100
        if not self.planned:
            return 0
        return min(100, self.done_count * 100 // self.planned)


class DunningDeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DunningDeliveryKind(models.TextChoices):
    RUN = "run", "With the notice"
    RESEND = "resend", "Resent"


class DunningDelivery(OrganizationScopedModel):
    """One email of a notice's letter: the first one with the run, then each resend (a new
    row; the notice and its fee stay as they are)."""

    notice = models.ForeignKey(DunningNotice, on_delete=models.CASCADE,
                               related_name="deliveries")
    kind = models.CharField(max_length=8, choices=DunningDeliveryKind.choices,
                            default=DunningDeliveryKind.RESEND)
    recipient = models.EmailField(blank=True)
    status = models.CharField(max_length=8, choices=DunningDeliveryStatus.choices,
                              default=DunningDeliveryStatus.QUEUED)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "dunning deliveries"

    def __str__(self) -> str:
        return f"{self.notice} → {self.recipient or '?'} ({self.status})"


class InvoiceDispute(OrganizationScopedModel):
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT,
                                related_name="disputes")
    reason = models.CharField(max_length=500)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["invoice"], condition=Q(resolved_at__isnull=True),
                                    name="invoice_dispute_one_open"),
        ]

    def __str__(self) -> str:
        return f"Dispute on {self.invoice}" + (" (resolved)" if self.resolved_at else "")

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
