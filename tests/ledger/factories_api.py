"""Ledger API rows for one organization: a payment recorded through the API with an
``Idempotency-Key`` (its stored request), marked with ``world.marker``."""

from __future__ import annotations

import json
from decimal import Decimal

from django.utils import timezone

from billspree.core.timefmt import local_date
from ledger.models import PaymentRequest
from ledger.services.payments import payment_record


def populate(world) -> None:
    account = world.objects["account"]
    key = f"key-{world.marker}"
    payment, _ = payment_record(
        account=account, amount=Decimal("1.00"),
        received_on=local_date(timezone.now(), world.org), reference=f"API {world.marker}",
        note=f"API payment {world.marker}", idempotency_key=key)
    world.objects["payment_request"] = PaymentRequest.objects.create(
        key=key, request_hash="0" * 64, payment=payment,
        response=json.dumps({"id": str(payment.public_id),
                             "note": f"API payment {world.marker}"}))
