"""Query parameters the readings endpoints share: the meter (public id or serial number),
its time zone, instants and dates."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.core.exceptions import ValidationError
from rest_framework.request import Request

from billspree.core.limits import date_in_range, date_range_message
from meters.models import Meter
from readings.parsing import parse_instant


def meter_from_query(request: Request) -> Meter:
    raw = request.query_params.get("meter") or request.query_params.get("meterNumber") or ""
    if not raw:
        raise ValidationError({"meter": ["Give ?meter=<meter id or meterNumber>."]})
    try:
        lookup = {"public_id": uuid.UUID(raw)}
    except ValueError:
        lookup = {"serial_number": raw}
    meter = Meter.objects.filter(**lookup).first()
    if meter is None:
        raise ValidationError({"meter": [f"No meter {raw!r} in this organization."]})
    return meter


def meter_zone(request: Request, meter: Meter):
    """Plain dates in a query are local midnights of the meter's property (as reading upload
    and invoices read them), the organization's zone only for a meter never assigned."""
    from readings.rollups import meter_zones

    return meter_zones([meter.id], request.organization.time_zone).get(
        meter.id, request.organization.time_zone)


def instant_param(request: Request, name: str, meter_tz) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value, why = parse_instant(raw, meter_tz)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-12:00 is past datetime.max in UTC
        value, why = None, date_range_message()
    if value is not None and not date_in_range(value):
        why = date_range_message()
    if why:
        raise ValidationError({name: [why]})
    return value


def date_param(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [f"Not a date (YYYY-MM-DD): {raw!r}."]}) from None
    if not date_in_range(day):
        raise ValidationError({name: [date_range_message()]})
    return day
