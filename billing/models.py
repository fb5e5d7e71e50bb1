"""Billing documents. For now: gapless, per-organization document numbering.

Issued invoices and credit notes need numbers with no duplicates and no gaps (tax law in
most countries). A counter row per organization and document kind is locked with
SELECT ... FOR UPDATE inside the transaction that issues the document: if that
transaction rolls back, the number is not consumed; two concurrent issuers queue on the
row lock instead of racing.
"""

from __future__ import annotations

from django.db import models

from billspree.core.scoping import OrganizationScopedModel


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


DEFAULT_PREFIXES = {DocumentKind.INVOICE: "INV-", DocumentKind.CREDIT_NOTE: "CN-"}


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
