"""The organization's cash rounding per currency: the one source of cash rounding for
quotes and invoices (see ``tariffs.models.CashRounding``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from tariffs.models import CashRounding
from tariffs.services.common import audit, clean_currency
from tariffs.validation import Errors

#: Steps people use (coins): anything else is almost certainly a typo.
MAX_STEP = Decimal("100")


def _step(raw: Any, errors: Errors) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        step = Decimal(str(raw))
    except InvalidOperation:
        errors.add("step", f"'{raw}' is not a number.")
        return None
    if not step.is_finite() or step <= 0 or step > MAX_STEP:
        errors.add("step", "A cash rounding step is a positive amount such as 0.05 (at most 100).")
    elif step != step.quantize(Decimal("0.01")):
        errors.add("step", "A cash rounding step has at most two decimals (e.g. 0.05).")
    return step


@transaction.atomic
def cash_rounding_set(
    *, currency: str, step: Decimal | str | None, actor: Any = None
) -> CashRounding | None:
    """Round gross totals in ``currency`` to the nearest ``step`` from now on (drafts and
    quotes computed afterwards; issued invoices keep theirs). An empty step removes the
    setting (no cash rounding). Idempotent."""
    errors = Errors()
    code = clean_currency(currency, errors)
    value = _step(step, errors)
    errors.raise_if_any()
    current = CashRounding.objects.select_for_update().filter(currency=code).first()
    if value is None:
        if current is not None:
            current.delete()
            audit("cash_rounding.delete", code, actor, step=current.step)
        return None
    if current is not None and current.step == value:
        return current
    if current is None:
        current = CashRounding.objects.create(currency=code, step=value)
    else:
        current.step = value
        current.save(update_fields=["step", "updated_at"])
    audit("cash_rounding.set", code, actor, step=value)
    return current
