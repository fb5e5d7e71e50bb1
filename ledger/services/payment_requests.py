"""An API payment request recorded once per ``Idempotency-Key``, with its first answer.

The ledger already refuses a second payment under one key; this also keeps what the first
request said (its hash) and what it was answered, so a replay gets the same body and a key
reused with other content is refused — one transaction for the payment and its record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from ledger.models import Payment, PaymentRequest


@transaction.atomic
def payment_request_record(
    *, key: str | None, digest: str, record: Callable[[], tuple[Payment, bool]],
    answer: Callable[[Payment], dict[str, Any]],
) -> tuple[PaymentRequest | None, dict[str, Any] | None, bool]:
    """``(earlier request, None, False)`` for a replay of ``key``; else records the payment
    (``record``) and returns ``(None, its answer, created)``."""
    if key and (stored := PaymentRequest.objects.select_related("payment")
                .filter(key=key).first()):
        return stored, None, False
    payment, created = record()
    if key and not created and (stored := PaymentRequest.objects.select_related(
            "payment").filter(key=key).first()):
        return stored, None, False  # a concurrent first request won
    body = answer(payment)
    if key:
        PaymentRequest.objects.create(key=key, request_hash=digest, payment=payment,
                                      response=json.dumps(body, cls=DjangoJSONEncoder))
    return None, body, created
