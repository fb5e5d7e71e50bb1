"""Query parameters of the scheduled meter reading (page, CSV and API): one parser, every
problem reported at once by parameter name (as :mod:`monitoring.params`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError

from billspree.core.limits import date_in_range, date_range_message
from meters.models import BillingPoint, Meter, Property
from monitoring.params import _collect, _date, _scoped
from monitoring.selectors.meter_readings import (
    DAY,
    EVERY,
    LIST,
    MAX_TIMES,
    MAX_TOLERANCE,
    METER_QUANTITIES,
)

#: the longest period one request may span (the cell limit bounds it further)
MAX_DAYS = 3 * 366


def meter_readings_params(query: Mapping[str, Any]) -> dict[str, Any]:
    """``from``/``to`` (local dates, inclusive, required), ``every`` (hour, day, month_end),
    ``at`` (HH:MM, for ``every=day``), ``property``/``billing_point`` (a public id),
    ``meter`` (public ids, repeated or comma-separated), ``measurements`` (quantities,
    repeated or comma-separated), ``tolerance`` (minutes a measurement may precede a point)
    → the keyword arguments of ``meter_readings``."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    every = (query.get("every") or DAY).strip()
    for name, key in (("from", "first"), ("to", "last")):
        out[key] = _collect(errors, name, lambda name=name: _date(query, name))
        if out[key] is None and name not in errors and every != LIST:
            errors[name] = ["Required: a local date (YYYY-MM-DD)."]
    out["times"] = _collect(errors, "times", lambda: _times(_many(query, "times"))) if (
        every == LIST) else []
    if every not in EVERY:
        errors["every"] = [f"Unknown schedule {every!r}: use any of {', '.join(EVERY)}."]
    out["every"] = every
    out["at"] = _collect(errors, "at", lambda: _time(query.get("at")))
    out["property_id"] = _collect(errors, "property", lambda: _scoped(query, "property",
                                                                      Property))
    out["billing_point_id"] = _collect(errors, "billing_point",
                                       lambda: _scoped(query, "billing_point", BillingPoint))
    out["meter_ids"] = _collect(errors, "meter", lambda: _meters(_many(query, "meter")))
    out["measurements"] = _collect(errors, "measurements",
                                   lambda: _quantities(_many(query, "measurements")))
    out["tolerance"] = _collect(errors, "tolerance", lambda: _tolerance(query.get("tolerance")))
    first, last = out["first"], out["last"]
    if every == LIST and out["times"]:  # the period is the times'
        first, last = out["first"], out["last"] = (min(out["times"]).date(),
                                                   max(out["times"]).date())
    if first and last and "to" not in errors:
        if last < first:
            errors["to"] = ["Must not be before from."]
        elif (last - first).days >= MAX_DAYS:
            errors["to"] = [f"At most {MAX_DAYS} days from from."]
    if errors:
        raise ValidationError(errors)
    return out


def _many(query: Mapping[str, Any], name: str) -> list[str]:
    raw = query.getlist(name) if hasattr(query, "getlist") else [query.get(name) or ""]
    return [v.strip() for item in raw for v in str(item).split(",") if v.strip()]


def _time(raw: str | None) -> time:
    raw = (raw or "").strip()
    if not raw:
        return time(0)
    try:
        hours, minutes = raw.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        message = f"Not a local time (HH:MM, 00:00–23:59): {raw!r}."
        raise ValidationError({"at": [message]}) from None


def _times(raw: list[str]) -> list[datetime]:
    """Local wall-clock times "YYYY-MM-DD HH:MM" (or with a T), naive: each meter's
    property zone gives them their instant."""
    if not raw:
        raise ValidationError({"times": ["Required for every=list: local times "
                                         "YYYY-MM-DD HH:MM, comma-separated."]})
    if len(raw) > MAX_TIMES:
        raise ValidationError({"times": [f"At most {MAX_TIMES} times."]})
    out = []
    for value in raw:
        try:
            moment = datetime.fromisoformat(value.replace(" ", "T"))
            if moment.tzinfo is not None or len(value) != 16:
                raise ValueError
        except ValueError:
            raise ValidationError({"times": [f"Not a local time (YYYY-MM-DD HH:MM, no zone): "
                                             f"{value!r}."]}) from None
        if not date_in_range(moment):
            raise ValidationError({"times": [date_range_message()]})
        out.append(moment)
    return out


def _meters(raw: list[str]) -> list[int]:
    ids = []
    for value in raw:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            raise ValidationError({"meter": [f"Not a valid id: {value!r}."]}) from None
    found = dict(Meter.objects.filter(public_id__in=ids).values_list("public_id", "pk"))
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationError({"meter": [f"No meter with id {', '.join(missing)} in this "
                                         "organization."]})
    return [found[i] for i in ids]


def _quantities(raw: list[str]) -> list[str]:
    unknown = [q for q in raw if q not in METER_QUANTITIES]
    if unknown:
        raise ValidationError({"measurements": [
            f"Unknown measurement {', '.join(map(repr, unknown))}: use any of "
            f"{', '.join(METER_QUANTITIES)}."]})
    return list(dict.fromkeys(raw))


def _tolerance(raw: str | None) -> timedelta:
    raw = (raw or "").strip()
    if not raw:
        return timedelta(minutes=15)
    limit = int(MAX_TOLERANCE.total_seconds() // 60)
    try:
        minutes = int(raw)
    except ValueError:
        minutes = -1
    if not 0 <= minutes <= limit:
        raise ValidationError({"tolerance": [f"Minutes from 0 to {limit}: {raw!r}."]})
    return timedelta(minutes=minutes)
