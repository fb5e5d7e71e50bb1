"""Bank file imports: one row per imported file (unique by its bytes' sha256 per
organization, so the same file twice adds nothing) and one row per line of it, with how
the line was matched (reference, invoice number in the remittance, by hand) or why not."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from djmoney.models.fields import CurrencyField

from billspree.core.scoping import OrganizationScopedModel
from ledger.models.entries import AMOUNT


class BankImportStatus(models.TextChoices):
    DONE = "done", "Done"
    REVIEW = "review", "Needs review"


class BankImport(OrganizationScopedModel):
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=BankImportStatus.choices,
                              default=BankImportStatus.DONE)
    lines_count = models.PositiveIntegerField(default=0)
    matched_count = models.PositiveIntegerField(default=0)
    unmatched_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    ignored_count = models.PositiveIntegerField(default=0)
    #: {currency: "total of credit lines"}
    totals = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sha256"],
                                    name="bank_import_file_once"),
        ]

    def __str__(self) -> str:
        return self.filename


class BankLineStatus(models.TextChoices):
    MATCHED = "matched", "Matched"
    UNMATCHED = "unmatched", "Unmatched"
    DUPLICATE = "duplicate", "Duplicate"
    IGNORED = "ignored", "Ignored"


class BankMatchHow(models.TextChoices):
    NONE = "", "—"
    REFERENCE = "reference", "Reference"
    INVOICE_NUMBER = "invoice_number", "Invoice number in remittance"
    HAND = "hand", "By hand"
    REVERSAL = "reversal", "Reversal of a payment"


class BankImportLine(OrganizationScopedModel):
    bank_import = models.ForeignKey(BankImport, on_delete=models.PROTECT, related_name="lines")
    row = models.PositiveIntegerField()
    amount = models.DecimalField(**AMOUNT)
    currency = CurrencyField()
    booked_on = models.DateField()
    value_on = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=140, blank=True)
    remittance = models.CharField(max_length=500, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_iban = models.CharField(max_length=40, blank=True)
    bank_reference = models.CharField(max_length=200, blank=True)
    reversal = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=BankLineStatus.choices)
    matched_how = models.CharField(max_length=16, choices=BankMatchHow.choices, blank=True,
                                   default="")
    reason = models.CharField(max_length=300, blank=True)
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    payment = models.ForeignKey("ledger.Payment", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["bank_import", "row", "pk"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"{self.bank_import} row {self.row}"
