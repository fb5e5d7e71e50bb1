"""Query parameters of the loss pages and API: one parser, every problem named by field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError

from billspree.core.limits import query_day
from meters.models import Meter
from monitoring.params import _scoped
from monitoring.selectors.losses import GRAINS, check_params


def previous_month(today: date) -> tuple[date, date]:
    """The last whole month before ``today``: the default period (its days are complete
    once the month-end readings are in)."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def loss_params(query: Mapping[str, str], today: date) -> dict[str, Any]:
    """``from``/``to`` (local days, inclusive; both absent: the previous month), ``grain``
    (hour, day, month; default day) and ``main`` (a main meter's public id) → the keyword
    arguments of ``loss_report``."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, key in (("from", "first"), ("to", "last")):
        try:
            out[key] = query_day(query, name)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            out[key] = None
    if not errors and out["first"] is None and out["last"] is None:
        out["first"], out["last"] = previous_month(today)
    out["grain"] = (query.get("grain") or "day").strip()
    if out["grain"] not in GRAINS:
        errors["grain"] = [f"Unknown grain {out['grain']!r}: use any of {', '.join(GRAINS)}."]
    try:
        out["main_id"] = main_meter(query.get("main"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not errors:
        try:
            check_params(out["first"], out["last"], out["grain"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return out


def main_meter(raw: str | None, name: str = "main") -> int | None:
    """A main meter of this organization by public id (the scoped manager: another
    organization's meter is not found)."""
    raw = (raw or "").strip()
    found = _scoped({name: raw}, name, Meter)
    if found is None:
        return None
    if not Meter.objects.filter(parent_id=found).exists():
        raise ValidationError({name: [f"Meter {raw} has no sub-meters: it is not a main "
                                      "meter."]})
    return found
