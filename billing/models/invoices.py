"""Billing: subscriptions, invoices (+ lines and billed periods), credit notes, numbering.

Document numbers: issued invoices and credit notes need numbers with no duplicates and no
gaps (tax law in most countries). A counter row per organization and document kind is
locked with SELECT ... FOR UPDATE inside the transaction that issues the document: if that
transaction rolls back, the number is not consumed; two concurrent issuers queue on the
row lock instead of racing.

Billed at most once: every usage line comes from one :class:`BilledPeriod` (a meter over
[start, end) on an invoice). An exclusion constraint refuses two *active* billed periods
of the same meter that overlap; voiding an invoice (draft void, or a credit note for an
issued one) deactivates its billed periods, so the period can be billed afresh.

Immutability: once an invoice leaves ``draft`` only its status (issued → paid / void) and
the paid/void instants may change; a database trigger refuses anything else, and refuses
any insert/update/delete of the lines of a non-draft invoice (see migration 0003). Credit
notes are immutable from the start: only their stored PDF may be set (migration 0007).
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Q
from djmoney.models.fields import CurrencyField
from moneyed import Money

from billing.models.statements import statement_storage
from billspree.core.db import TstzRange  # migrations: billing.models.TstzRange
from billspree.core.scoping import OrganizationScopedModel


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


DEFAULT_PREFIXES = {DocumentKind.INVOICE: "INV-", DocumentKind.CREDIT_NOTE: "CN-"}
AMOUNT = {"max_digits": 16, "decimal_places": 4}


class DocumentSequence(OrganizationScopedModel):
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    prefix = models.CharField(max_length=16, blank=True)
    next_number = models.PositiveBigIntegerField(default=1)
    digits = models.PositiveSmallIntegerField(default=6)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="sequence_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.prefix}… next {self.next_number}"

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.digits}d}"


class Subscription(OrganizationScopedModel):
    """A billing point on a plan (and variant) over [start_date, end_date) (local dates)."""

    billing_point = models.ForeignKey(
        "meters.BillingPoint", on_delete=models.PROTECT, related_name="subscriptions"
    )
    plan = models.ForeignKey("tariffs.Plan", on_delete=models.PROTECT, related_name="subscriptions")
    variant = models.ForeignKey(
        "tariffs.PlanVariant", on_delete=models.PROTECT, null=True, blank=True,
        related_name="subscriptions",
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Exclusive; empty: open.")
    batch = models.ForeignKey(
        "billing.BillingBatch", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="subscriptions", help_text="The billing batch that bills it on schedule.",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["billing_point"], condition=Q(end_date__isnull=True),
                name="subscription_one_open_per_billing_point",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
                name="subscription_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.billing_point} on {self.plan}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class InvoiceKind(models.TextChoices):
    REGULAR = "regular", "Regular"
    #: a re-bill of late data about a period already invoiced (pending adjustments billed
    #: now rather than on the next regular invoice): it overlaps the regular invoice of the
    #: period by design
    ADJUSTMENT = "adjustment", "Adjustment (re-bill)"


class Invoice(OrganizationScopedModel):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="invoices")
    billing_point = models.ForeignKey(
        "meters.BillingPoint", on_delete=models.PROTECT, related_name="invoices"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    bill_run = models.ForeignKey(
        "billing.BillRun", on_delete=models.PROTECT, null=True, blank=True,
        related_name="invoices", help_text="The bill run that drafted it (empty: by hand).",
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    currency = CurrencyField()
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    number = models.CharField(max_length=32, blank=True)
    #: What the tenant quotes when paying: a QR reference (27 digits) or an ISO 11649
    #: creditor reference ("RF…"), normalised (no spaces, upper case). Set in the UPDATE
    #: that numbers the invoice and as final as the number; payments are matched back by
    #: ``payment_reference == normalise_reference(text)`` in the organization. Invoices
    #: issued before payment slips existed have none (and no payment slip).
    payment_reference = models.CharField(max_length=32, blank=True, default="", db_default="")
    kind = models.CharField(max_length=10, choices=InvoiceKind.choices,
                            default=InvoiceKind.REGULAR, db_default=InvoiceKind.REGULAR)
    net_total = models.DecimalField(**AMOUNT, default=Decimal("0"))
    tax_total = models.DecimalField(**AMOUNT, default=Decimal("0"))
    #: The gross total rounded to the organization's cash-rounding step for the currency
    #: (``tariffs.CashRounding``), shown after the total, outside net and VAT. Invoices of
    #: before this field carried it as a ``rounding`` line (inside the net) and have 0 here.
    cash_rounding = models.DecimalField(**AMOUNT, default=Decimal("0"))
    total = models.DecimalField(**AMOUNT, default=Decimal("0"))
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    #: A draft whose inputs (readings, occupancy, meters) changed after it was computed:
    #: why, and since when. It cannot be issued until recomputed (``invoice_recompute``).
    stale_reason = models.TextField(blank=True, default="", db_default="")
    stale_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "-pk"]
        #: the cost of a few months (``monitoring.selectors.energy.cost_rows``) reads the
        #: invoices whose period begins in them, not the organization's every invoice
        indexes = [models.Index(fields=["organization", "period_start"],
                                name="invoice_org_period_start")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], condition=~Q(number=""),
                name="invoice_unique_number",
            ),
            models.UniqueConstraint(
                fields=["organization", "payment_reference"], condition=~Q(payment_reference=""),
                name="invoice_unique_payment_reference",
            ),
            ExclusionConstraint(
                name="invoice_one_per_tenant_period",
                expressions=[
                    ("billing_point", RangeOperators.EQUAL),
                    ("tenant", RangeOperators.EQUAL),
                    (TstzRange("period_start", "period_end"), RangeOperators.OVERLAPS),
                ],
                condition=~Q(status="void") & Q(kind="regular"),
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=F("period_start")), name="invoice_period_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "void"]) | ~Q(number=""),
                name="invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=Q(total=F("net_total") + F("tax_total") + F("cash_rounding")),
                name="invoice_total_is_net_vat_cash_rounding",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {str(self.public_id)[:8]}"

    def money(self, value: Decimal) -> Money:
        return Money(value, str(self.currency))

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_stale(self) -> bool:
        return self.status == InvoiceStatus.DRAFT and bool(self.stale_reason)


class LineKind(models.TextChoices):
    USAGE = "usage", "Usage"
    STANDING = "standing", "Standing charge"
    ADDON = "addon", "Add-on"
    MANUAL = "manual", "Manual"
    MINIMUM = "minimum", "Minimum charge"
    #: legacy: invoices drafted before ``Invoice.cash_rounding`` carried it as a line
    ROUNDING = "rounding", "Cash rounding"
    ADJUSTMENT = "adjustment", "Adjustment"


class BilledPeriod(OrganizationScopedModel):
    """A meter's consumption over [start_at, end_at) billed on an invoice, traced to the two
    readings it was measured from (readings are keyed by meter + instant)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="billed_periods")
    meter = models.ForeignKey("meters.Meter", on_delete=models.PROTECT, related_name="+")
    assignment = models.ForeignKey(
        "meters.MeterAssignment", on_delete=models.PROTECT, related_name="+"
    )
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    start_read_at = models.DateTimeField(null=True, blank=True)
    start_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    end_read_at = models.DateTimeField(null=True, blank=True)
    end_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    estimated = models.BooleanField(default=False)
    active = models.BooleanField(default=True, help_text="False once the invoice is void.")
    #: An adjustment period: the delta of a period already billed (``adjusts``), carried
    #: by a later invoice. It overlaps the period it adjusts by design, so the exclusion
    #: constraint below covers original periods only; an adjustment is billed at most once
    #: by its own unique constraint.
    adjustment = models.ForeignKey(
        "billing.Adjustment", on_delete=models.PROTECT, null=True, blank=True,
        related_name="billed_periods",
    )
    adjusts = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="adjusted_by"
    )

    class Meta:
        ordering = ["start_at", "pk"]
        constraints = [
            ExclusionConstraint(
                name="billed_period_at_most_once",
                expressions=[
                    ("meter", RangeOperators.EQUAL),
                    (TstzRange("start_at", "end_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True, adjustment__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["adjustment"], condition=Q(active=True, adjustment__isnull=False),
                name="billed_period_adjustment_once",
            ),
            models.CheckConstraint(
                condition=Q(end_at__gt=F("start_at")), name="billed_period_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"meter {self.meter_id} {self.start_at:%Y-%m-%d}–{self.end_at:%Y-%m-%d}"


class InvoiceLine(OrganizationScopedModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=LineKind.choices)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    unit = models.CharField(max_length=16, blank=True)
    unit_price = models.DecimalField(max_digits=16, decimal_places=6)
    amount = models.DecimalField(**AMOUNT)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    tax_amount = models.DecimalField(**AMOUNT, default=Decimal("0"))
    meter_type = models.CharField(max_length=16, blank=True)
    #: the charge rule (or add-on) the line prices, by name: late data matches a line with
    #: its re-rated counterpart by it (the description is words with the days in them).
    #: Empty on manual lines and on lines drafted before it (their description begins with
    #: the name).
    charge = models.CharField(max_length=200, blank=True, default="", db_default="")
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    # usage lines: where the quantity comes from
    billed_period = models.ForeignKey(
        BilledPeriod, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    meter = models.ForeignKey(
        "meters.Meter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assignment = models.ForeignKey(
        "meters.MeterAssignment", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    start_read_at = models.DateTimeField(null=True, blank=True)
    start_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    end_read_at = models.DateTimeField(null=True, blank=True)
    end_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    #: the start or the end value was interpolated or estimated, not read
    estimated = models.BooleanField(default=False)
    # usage lines: how each boundary value was had ("read", "interpolated", "estimated"),
    # the readings it came from ([{"read_at", "value"}]), and why end − start alone is not
    # the quantity where it is not (register rollover). Empty on lines of before.
    start_basis = models.CharField(max_length=12, blank=True)
    end_basis = models.CharField(max_length=12, blank=True)
    start_sources = models.JSONField(default=list, blank=True)
    end_sources = models.JSONField(default=list, blank=True)
    quantity_note = models.CharField(max_length=300, blank=True)
    #: adjustment lines: the adjustment they bill (its original invoice, its readings)
    adjustment = models.ForeignKey(
        "billing.Adjustment", on_delete=models.PROTECT, null=True, blank=True,
        related_name="lines",
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="usage") | Q(meter__isnull=False, assignment__isnull=False),
                name="invoice_line_usage_has_meter",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class CreditNote(OrganizationScopedModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=32)
    reason = models.CharField(max_length=300)
    currency = CurrencyField()
    net_total = models.DecimalField(**AMOUNT)
    tax_total = models.DecimalField(**AMOUNT)
    #: Cash rounding of the credited total (net + tax + cash_rounding = total).
    cash_rounding = models.DecimalField(**AMOUNT, default=Decimal("0"))
    total = models.DecimalField(**AMOUNT)
    #: True when it credits the whole invoice (the invoice becomes void and its periods
    #: may be billed again); a partial credit note leaves the invoice issued.
    full = models.BooleanField(default=True)
    issued_at = models.DateTimeField()
    #: The PDF as issued, stored once (right after the note is committed, or at its first
    #: download if that failed) and never rendered again: a later change of the
    #: organization's address or payment details must not change a tax document already
    #: sent. A database trigger refuses any other change to an issued credit note.
    pdf = models.FileField(storage=statement_storage, upload_to="credit-notes/%Y/%m/",
                           blank=True, max_length=300)
    pdf_generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="credit_note_unique_number"
            ),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(full=True), name="credit_note_one_full_per_invoice"
            ),
            models.CheckConstraint(
                condition=Q(total=F("net_total") + F("tax_total") + F("cash_rounding")),
                name="credit_note_totals_add_up",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(OrganizationScopedModel):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    unit = models.CharField(max_length=16, blank=True)
    unit_price = models.DecimalField(max_digits=16, decimal_places=6)
    amount = models.DecimalField(**AMOUNT)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    tax_amount = models.DecimalField(**AMOUNT, default=Decimal("0"))

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.description
