"""Validation of charge-rule input, pure: each problem names its field (and row).

:func:`clean_rule` takes what a form or serializer parsed (strings or numbers are fine),
returns the normalised values to store, and raises ``ValidationError({field: [why]})``
with every problem at once.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from meters.models import UNITS_BY_TYPE, MeterType
from tariffs import pricing

MINUTES = 24 * 60
RULE_FIELDS = {
    "name", "kind", "meter_type", "unit", "price", "per", "tiers", "bands", "holiday_calendar",
    "allowance", "minimum_charge", "tax_rate", "position",
}


class Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self:
            raise ValidationError(dict(self))


def decimal(value: Any, field: str, errors: Errors, *, allow_none: bool = False,
            label: str = "") -> Decimal | None:
    prefix = f"{label}: " if label else ""
    if value is None or value == "":
        if allow_none:
            return None
        errors.add(field, f"{prefix}Enter a number.")
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add(field, f"{prefix}'{value}' is not a number.")
        return None
    if not number.is_finite():
        errors.add(field, f"{prefix}'{value}' is not a number.")
        return None
    if number < 0:
        errors.add(field, f"{prefix}must be 0 or more (got {value}).")
        return None
    return number


def clean_tiers(rows: Any, errors: Errors) -> list[dict[str, str | None]]:
    if not isinstance(rows, list) or not rows:
        errors.add("tiers", "Add at least one block (rows of up_to and price).")
        return []
    out: list[dict[str, str | None]] = []
    previous = Decimal(0)
    for n, row in enumerate(rows, start=1):
        label = f"Row {n}"
        if not isinstance(row, dict):
            errors.add("tiers", f"{label}: expected an object with up_to and price.")
            continue
        up_to = decimal(row.get("up_to"), "tiers", errors, allow_none=True, label=f"{label} up_to")
        price = decimal(row.get("price"), "tiers", errors, label=f"{label} price")
        start = row.get("from")
        if start not in (None, ""):
            begins = decimal(start, "tiers", errors, label=f"{label} from")
            if begins is not None and begins != previous:
                errors.add("tiers", f"{label}: starts at {begins} but the previous block ends at "
                           f"{previous}; blocks must be contiguous.")
        last = n == len(rows)
        if up_to is None and row.get("up_to") in (None, "") and not last:
            errors.add("tiers", f"{label}: only the last block may be open-ended (no up_to).")
        if up_to is not None and up_to <= previous:
            errors.add("tiers", f"{label}: up_to {up_to} must be greater than {previous} "
                       "(blocks ascend).")
        if last and row.get("up_to") not in (None, ""):
            errors.add("tiers", f"{label}: the last block must be open-ended (leave up_to empty) "
                       "so every unit has a price.")
        if up_to is not None:
            previous = up_to
        out.append({"up_to": None if up_to is None else str(up_to),
                    "price": None if price is None else str(price)})
    return out


def _parse_time(value: Any, label: str, errors: Errors) -> time | None:
    if value in ("24:00", "24:00:00"):
        return time(0)
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        errors.add("bands", f"{label}: '{value}' is not a time (HH:MM).")
        return None


def _minutes(start: time, end: time) -> list[int]:
    a = start.hour * 60 + start.minute
    b = end.hour * 60 + end.minute
    if b <= a:
        b += MINUTES  # ends at midnight or wraps past it
    return [m % MINUTES for m in range(a, b)]


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _spans(minutes: list[int]) -> str:
    spans, start = [], None
    for i, m in enumerate(minutes):
        if start is None:
            start = m
        if i + 1 == len(minutes) or minutes[i + 1] != m + 1:
            spans.append(f"{_hhmm(start)}–{_hhmm((m + 1) % MINUTES)}")
            start = None
    return ", ".join(spans)


def clean_bands(rows: Any, errors: Errors) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not rows:
        errors.add("bands", "Add time-of-use bands covering every day kind around the clock.")
        return []
    out, names = [], set()
    owner: dict[tuple[str, int], str] = {}
    for n, row in enumerate(rows, start=1):
        label = f"Row {n}"
        if not isinstance(row, dict):
            errors.add("bands", f"{label}: expected an object with name, days, start, end, price.")
            continue
        name = str(row.get("name") or "").strip()
        if not name:
            errors.add("bands", f"{label}: give the band a name.")
        elif name in names:
            errors.add("bands", f"{label}: the name '{name}' is used twice.")
        names.add(name)
        days = row.get("days") or []
        if isinstance(days, str):
            days = [days]
        bad = [d for d in days if d not in pricing.DAY_KINDS]
        if not days or bad:
            errors.add("bands", f"{label}: days must be some of {', '.join(pricing.DAY_KINDS)}.")
            days = [d for d in days if d in pricing.DAY_KINDS]
        start = _parse_time(row.get("start"), label, errors)
        end = _parse_time(row.get("end"), label, errors)
        price = decimal(row.get("price"), "bands", errors, label=f"{label} price")
        if start is not None and end is not None:
            if start.second or end.second:
                errors.add("bands", f"{label}: bands start and end on whole minutes.")
            for day in days:
                clash = sorted({
                    owner[(day, m)] for m in _minutes(start, end) if (day, m) in owner
                })
                if clash:
                    errors.add("bands", f"{label} ({name}) overlaps {', '.join(clash)} on {day}s.")
                for m in _minutes(start, end):
                    owner.setdefault((day, m), f"row {n} ({name})")
        out.append({
            "name": name, "days": [d for d in pricing.DAY_KINDS if d in days],
            "start": start.strftime("%H:%M") if start else None,
            "end": end.strftime("%H:%M") if end else None,
            "price": None if price is None else str(price),
        })
    if "bands" not in errors:
        for day in pricing.DAY_KINDS:
            gaps = [m for m in range(MINUTES) if (day, m) not in owner]
            if gaps:
                errors.add("bands", f"No band covers {day}s {_spans(gaps)}; bands must cover "
                           "the whole week (weekday, weekend, holiday) without overlap.")
    return out


def clean_rule(data: dict[str, Any]) -> dict[str, Any]:
    """Normalised values of a charge rule; raises ``ValidationError`` naming each bad field."""
    errors = Errors()
    unknown = set(data) - RULE_FIELDS
    for name in sorted(unknown):
        errors.add(name, "Unknown field.")
    out: dict[str, Any] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors.add("name", "Give the rule a name (it appears on invoice lines).")
    out["name"] = name
    kind = data.get("kind")
    if kind not in pricing.KINDS:
        errors.add("kind", f"Choose one of {', '.join(pricing.KINDS)}.")
    out["kind"] = kind
    meter_type = data.get("meter_type") or ""
    if meter_type and meter_type not in MeterType.values:
        errors.add("meter_type", f"Unknown meter type '{meter_type}'.")
    if kind in pricing.USAGE_KINDS and not meter_type:
        errors.add("meter_type", "A usage rule needs the meter type whose consumption it prices.")
    out["meter_type"] = meter_type
    per = data.get("per") or pricing.PER_MONTH
    if per not in (pricing.PER_DAY, pricing.PER_MONTH, pricing.PER_YEAR):
        errors.add("per", "Choose day, month or year.")
    out["per"] = per
    unit = str(data.get("unit") or "").strip()
    if not unit:
        if kind == pricing.STANDING:
            unit = per
        elif meter_type in UNITS_BY_TYPE:
            unit = UNITS_BY_TYPE[meter_type][0]
    out["unit"] = unit
    needs_price = kind in (pricing.STANDING, pricing.FLAT)
    price = decimal(data.get("price"), "price", errors, allow_none=not needs_price)
    out["price"] = price if price is not None else Decimal(0)
    out["tiers"] = _only_for(data, "tiers", kind, (pricing.TIERED, pricing.VOLUME), errors,
                             clean_tiers)
    out["bands"] = _only_for(data, "bands", kind, (pricing.TIME_OF_USE,), errors, clean_bands)
    allowance = decimal(data.get("allowance"), "allowance", errors, allow_none=True)
    if allowance and kind not in (pricing.FLAT, pricing.TIERED, pricing.VOLUME):
        errors.add("allowance", "An included allowance applies to flat, tiered and volume rules.")
    out["allowance"] = allowance or Decimal(0)
    minimum = decimal(data.get("minimum_charge"), "minimum_charge", errors, allow_none=True)
    if minimum is not None and kind == pricing.STANDING:
        errors.add("minimum_charge", "A standing charge has no minimum charge.")
    out["minimum_charge"] = minimum
    tax = decimal(data.get("tax_rate"), "tax_rate", errors, allow_none=True)
    if tax is not None and tax > 100:
        errors.add("tax_rate", "A tax rate is a percentage between 0 and 100.")
    out["tax_rate"] = tax or Decimal(0)
    out["holiday_calendar"] = data.get("holiday_calendar") if kind == pricing.TIME_OF_USE else None
    try:
        out["position"] = int(data.get("position") or 0)
    except (TypeError, ValueError):
        errors.add("position", "Enter a whole number.")
    errors.raise_if_any()
    return out


def _only_for(data, field, kind, kinds, errors, clean):
    rows = data.get(field) or []
    if kind in kinds:
        return clean(rows, errors)
    if rows:
        errors.add(field, f"Only {' and '.join(k.replace('_', '-') for k in kinds)} rules "
                   f"have {field}.")
    return []
