"""Query parameters of the energy dashboard (page and API): ``month`` and ``property``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from billspree.core.limits import DATE_MAX, DATE_MIN
from meters.models import Property

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def query_month(query: Mapping[str, str], name: str = "month") -> date | None:
    """``YYYY-MM`` → the month's first day (None when absent), or an error on ``name``."""
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    found = _MONTH.match(raw)
    if not found or not 1 <= int(found[2]) <= 12:
        raise ValidationError({name: [f"Not a month (YYYY-MM): {raw!r}."]})
    first = date(int(found[1]), int(found[2]), 1)
    if not DATE_MIN <= first <= DATE_MAX:
        raise ValidationError({name: [f"Months must be between {DATE_MIN:%Y-%m} and "
                                      f"{DATE_MAX:%Y-%m}."]})
    return first


def dashboard_params(query: Mapping[str, str], *, with_property: bool = True) -> dict[str, Any]:
    """``month`` and (for the API) ``property``, a public id of this organization's property
    → the keyword arguments of ``energy_dashboard``; every problem at once, by name."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {"month": None, "property": None}
    try:
        out["month"] = query_month(query)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if with_property:
        try:
            out["property"] = query_property(query)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return out


def query_property(query: Mapping[str, str], name: str = "property") -> Property | None:
    """A public id of this organization's property (the scoped manager: another
    organization's is not found, and says so exactly as an unknown id does)."""
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        public_id = uuid.UUID(raw)
    except ValueError:
        raise ValidationError({name: [f"Not a valid id: {raw!r}."]}) from None
    found = Property.objects.filter(public_id=public_id).first()
    if found is None:
        raise ValidationError({name: [f"No property with id {raw} in this organization."]})
    return found
