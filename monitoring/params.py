"""Query parameters of the energy report (page and API): one parser, clear errors."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from billspree.core.limits import query_day
from meters.models import BillingPoint, Meter, MeterType, Property
from monitoring.selectors.energy import check_period, parse_group_by

#: filter parameter → (model, what energy_report takes)
FILTERS = {"property": (Property, "property_id"), "billing_point": (BillingPoint,
           "billing_point_id"), "meter": (Meter, "meter_id")}


def report_params(query: Mapping[str, str]) -> dict[str, Any]:
    """``from``, ``to`` (local dates, inclusive), ``group_by`` (comma-separated), and the
    filters ``property``, ``billing_point``, ``meter`` (public ids of this organization)
    and ``meter_type`` → the keyword arguments of ``energy_report``. Every problem is
    reported at once, by parameter."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, key in (("from", "first"), ("to", "last")):
        out[key] = _collect(errors, name, lambda name=name: _date(query, name))
    out["group_by"] = _collect(errors, "group_by", lambda: parse_group_by(query.get("group_by")))
    for name, (model, key) in FILTERS.items():
        out[key] = _collect(errors, name, lambda model=model, name=name: _scoped(query, name,
                                                                                 model))
    meter_type = query.get("meter_type") or None
    if meter_type is not None and meter_type not in MeterType.values:
        errors["meter_type"] = [f"Unknown meter type {meter_type!r}: use any of "
                                f"{', '.join(MeterType.values)}."]
    out["meter_type"] = meter_type
    if not errors:
        _collect(errors, "", lambda: check_period(out["first"], out["last"], out["group_by"]))
    if errors:
        raise ValidationError(errors)
    return out


def _collect(errors: dict, name: str, fn):
    try:
        return fn()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field if field != "__all__" else name, []).extend(messages)
        return None


def _date(query: Mapping[str, str], name: str) -> date | None:
    return query_day(query, name)


def _scoped(query: Mapping[str, str], name: str, model) -> int | None:
    """A public id of this organization's row (the scoped manager: another's is not found)."""
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        public_id = uuid.UUID(raw)
    except ValueError:
        raise ValidationError({name: [f"Not a valid id: {raw!r}."]}) from None
    found = model.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
    if found is None:
        label = model._meta.verbose_name
        raise ValidationError({name: [f"No {label} with id {raw} in this organization."]})
    return found
