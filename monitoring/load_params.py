"""Query parameters of the load analysis and the extremum report (page and API): one
parser each, every problem reported at once by parameter name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from meters.models import Meter, Property, Sensor
from monitoring.params import _collect, _date, _scoped
from monitoring.selectors.extremes import check_extremes_params
from monitoring.selectors.load import check_load_period
from readings.measurements.models import Quantity


def _period(query: Mapping[str, str], errors: dict, out: dict) -> None:
    for name, key in (("from", "first"), ("to", "last")):
        out[key] = _collect(errors, name, lambda name=name: _date(query, name))


def load_params(query: Mapping[str, str]) -> dict[str, Any]:
    """``from``, ``to`` (local dates, inclusive), ``meter``, ``property`` (public ids of this
    organization) → the keyword arguments of ``load_analysis``."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    _period(query, errors, out)
    out["meter_id"] = _collect(errors, "meter", lambda: _scoped(query, "meter", Meter))
    out["property_id"] = _collect(errors, "property",
                                  lambda: _scoped(query, "property", Property))
    if not errors:
        _collect(errors, "to", lambda: check_load_period(out["first"], out["last"]))
    if errors:
        raise ValidationError(errors)
    return out


def extremes_params(query: Mapping[str, str]) -> dict[str, Any]:
    """``from``, ``to``, ``property``, ``meter``, ``sensor`` (public ids) and ``quantity``
    → the keyword arguments of ``extremes``."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    _period(query, errors, out)
    for name, model in (("property", Property), ("meter", Meter), ("sensor", Sensor)):
        out[f"{name}_id"] = _collect(errors, name,
                                     lambda name=name, model=model: _scoped(query, name, model))
    out["quantity"] = (query.get("quantity") or "").strip() or None
    if out["quantity"] and out["quantity"] not in Quantity.values:
        errors["quantity"] = [f"Unknown quantity {out['quantity']!r}: use any of "
                              f"{', '.join(Quantity.values)}."]
    if not errors:
        _collect(errors, "to", lambda: check_extremes_params(
            out["first"], out["last"], out["quantity"]))
    if errors:
        raise ValidationError(errors)
    return out
