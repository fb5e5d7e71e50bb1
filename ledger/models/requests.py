"""An API request that recorded a payment under an ``Idempotency-Key``.

The payment row keeps the key (``Payment.idempotency_key``, unique per organization), so a
replay never records twice; this row keeps what the first request *said* (a hash of its
canonical content) and what it was answered, so a replay gets the same answer byte for
byte and a key reused with other content (another amount, note or allocation) is refused
(409) instead of silently answering the first payment.
"""

from __future__ import annotations

from django.db import models

from billspree.core.scoping import OrganizationScopedModel


class PaymentRequest(OrganizationScopedModel):
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    payment = models.ForeignKey("ledger.Payment", on_delete=models.PROTECT,
                                related_name="api_requests")
    #: the first answer's JSON as text (jsonb would reorder its keys)
    response = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"],
                                    name="payment_request_unique_key"),
        ]

    def __str__(self) -> str:
        return f"Payment request {self.key}"
