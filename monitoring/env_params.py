"""Query parameters of the environment page and API: chosen sensors, quantity and period."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone

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


def default_last_day(sensors: list[Sensor], *, now: datetime, time_zone: Any) -> date:
    """Today where it is latest, among the organization and the sensors' properties.

    A history is cut at local midnights of each sensor's property; ending the default period
    on the organization's today would hide the newest values of a building east of it (a
    Zurich sensor in a UTC organization showed nothing between 00:00 and 01:00 Zurich)."""
    return max([timezone.localdate(now, timezone=time_zone)]
               + [timezone.localdate(now, timezone=ZoneInfo(str(s.property.time_zone)))
                  for s in sensors])


def environment_params(query: Mapping, *, now: datetime, time_zone: Any) -> dict[str, Any]:
    """``sensor`` (ids), ``quantity`` (temperature, humidity; none: both), ``from``/``to``
    (local days; default yesterday and today, see ``default_last_day``) → sensors,
    quantities, first, last."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {"sensors": [], "quantities": list(QUANTITIES)}
    try:
        out["sensors"] = chosen_sensors(query)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    today = default_last_day(out["sensors"], now=now, time_zone=time_zone)
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
    if errors:
        raise ValidationError(errors)
    return out
