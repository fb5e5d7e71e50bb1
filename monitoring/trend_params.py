"""Query parameters of the trends page and API: one parser, every problem by parameter."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from billspree.core.limits import query_day
from meters.models import BillingPoint, Meter, MeterType, Property
from monitoring.selectors.trends import COMPARISONS, RESOLUTIONS, Selection, check_trend

#: selection parameter → model (public ids, repeatable or comma-separated)
SELECTION = {"meter": Meter, "billing_point": BillingPoint, "property": Property}
MAX_IDS = 200


def _values(query: Mapping, name: str) -> list[str]:
    raw = query.getlist(name) if hasattr(query, "getlist") else [query.get(name) or ""]
    return [part.strip() for item in raw for part in (item or "").split(",") if part.strip()]


def _ids(query: Mapping, name: str, model) -> tuple[int, ...]:
    """This organization's rows by public id (the scoped manager: another's is unknown)."""
    raw = _values(query, name)
    if len(raw) > MAX_IDS:
        raise ValidationError({name: [f"At most {MAX_IDS} ids; this is {len(raw)}."]})
    wanted: dict[uuid.UUID, str] = {}
    for item in raw:
        try:
            wanted[uuid.UUID(item)] = item
        except ValueError:
            raise ValidationError({name: [f"Not a valid id: {item!r}."]}) from None
    found = dict(model.objects.filter(public_id__in=list(wanted)).values_list("public_id", "pk"))
    missing = [text for key, text in wanted.items() if key not in found]
    if missing:
        label = model._meta.verbose_name
        raise ValidationError({name: [f"No {label} with id {', '.join(missing)} in this "
                                      f"organization."]})
    return tuple(found[key] for key in wanted)


def trend_params(query: Mapping) -> dict[str, Any]:
    """``from``/``to`` (local days, inclusive), ``resolution`` (hour, day, month; default
    day), ``compare`` (none, previous, last_year; default none), the selection ``meter``,
    ``billing_point``, ``property`` (public ids) and ``meter_type`` → ``trend`` kwargs."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name, key in (("from", "first"), ("to", "last")):
        out[key] = _collect(errors, lambda name=name: query_day(query, name))
    out["resolution"] = (query.get("resolution") or "day").strip()
    out["comparison"] = (query.get("compare") or "none").strip()
    chosen = {name: _collect(errors, lambda n=name, m=model: _ids(query, n, m)) or ()
              for name, model in SELECTION.items()}
    out["selection"] = Selection(chosen["meter"], chosen["billing_point"], chosen["property"])
    meter_type = (query.get("meter_type") or "").strip() or None
    if meter_type is not None and meter_type not in MeterType.values:
        errors["meter_type"] = [f"Unknown meter type {meter_type!r}: use any of "
                                f"{', '.join(MeterType.values)}."]
    out["meter_type"] = meter_type
    earlier = {k: list(errors[k]) for k in ("from", "to") if k in errors}
    _collect(errors, lambda: check_trend(out["first"], out["last"], out["resolution"],
                                         out["comparison"]))
    errors.update(earlier)  # a day that did not parse is not also "missing"
    if errors:
        raise ValidationError(errors)
    return out


def _collect(errors: dict, fn):
    try:
        return fn()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for m in messages:
                if m not in errors.get(name, []):
                    errors.setdefault(name, []).append(m)
        return None


__all__ = ["COMPARISONS", "RESOLUTIONS", "trend_params"]
