"""Query parameters of the environment page and API: chosen sensors, quantity and period."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError

from billspree.core.limits import query_day
from meters.models import Sensor
from monitoring.selectors.environment import MAX_SENSORS, QUANTITIES, check_period


def _values(query: Mapping, name: str) -> list[str]:
    raw = query.getlist(name) if hasattr(query, "getlist") else [query.get(name) or ""]
    return [part.strip() for item in raw for part in (item or "").split(",") if part.strip()]


def chosen_sensors(query: Mapping) -> list[Sensor]:
    """The ``sensor`` public ids (repeatable), this organization's only, in the order given."""
    raw = _values(query, "sensor")
    if len(raw) > MAX_SENSORS:
        raise ValidationError({"sensor": [f"At most {MAX_SENSORS} sensors; this is {len(raw)}."]})
    ids: list[uuid.UUID] = []
    for item in raw:
        try:
            ids.append(uuid.UUID(item))
        except ValueError:
            raise ValidationError({"sensor": [f"Not a valid id: {item!r}."]}) from None
    found = {s.public_id: s for s in Sensor.objects.select_related("property")
             .filter(public_id__in=ids)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationError({"sensor": [f"No sensor with id {', '.join(missing)} in this "
                                          f"organization."]})
    return list(dict.fromkeys(found[i] for i in ids))


def environment_params(query: Mapping, today: date) -> dict[str, Any]:
    """``sensor`` (ids), ``quantity`` (temperature, humidity; none: both), ``from``/``to``
    (local days; default yesterday and today) → sensors, quantities, first, last."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {"sensors": [], "quantities": list(QUANTITIES)}
    for name, key in (("from", "first"), ("to", "last")):
        try:
            out[key] = query_day(query, name)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            out[key] = None
    if "from" not in errors and "to" not in errors:
        out["last"] = out["last"] or today
        out["first"] = out["first"] or out["last"] - timedelta(days=1)
        try:
            check_period(out["first"], out["last"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    quantity = (query.get("quantity") or "").strip()
    if quantity:
        if quantity not in QUANTITIES:
            errors["quantity"] = [f"Unknown quantity {quantity!r}: use any of "
                                  f"{', '.join(QUANTITIES)}."]
        else:
            out["quantities"] = [quantity]
    try:
        out["sensors"] = chosen_sensors(query)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return out
